/* The admin endpoint's request parsing, kept apart from the server so that
 * a fuzzer can drive it (tests/fuzz/fuzz_http.c): pure functions of their
 * arguments, no I/O, no allocation. */
#ifndef CT_HTTP_PARSE_H
#define CT_HTTP_PARSE_H

#include <stddef.h>

/* "HOST:PORT", "[V6]:PORT", ":PORT" or "PORT" (host: 127.0.0.1). HOST is a
 * numeric IPv4 or IPv6 address or "localhost" (127.0.0.1); no name lookup.
 * Fills host (numeric, without brackets), *port and *v6. 0, or -1 with
 * *why saying what is wrong. */
int http_parse_address(const char *s, char *host, size_t hostcap, unsigned *port, int *v6,
		       const char **why);
/* 1 when host (as http_parse_address gives it) is a loopback address. */
int http_is_loopback(const char *host, int v6);

/* The seconds of a capture: v is the query value as decoded (NULL when
 * the query has no "seconds": the default, 1). Decimal digits only, 1 to
 * max. 0, or -1 with *why. */
int http_parse_seconds(const char *v, unsigned max, unsigned *out, const char **why);

/* 1 when the Authorization header value (NULL: absent) is "Bearer TOKEN"
 * with this token; the comparison takes the same time whatever the value
 * sent, for a given token. */
int http_token_ok(const char *header, const char *token);

enum http_route {
	HTTP_ROUTE_NONE = 0,
	HTTP_ROUTE_TRACE,
	HTTP_ROUTE_FLIGHT,
	HTTP_ROUTE_STATUS,
};
/* The endpoint a request path names (no query: the server's library has
 * split it off); /debug/pprof/trace only with the alias on. */
enum http_route http_route(const char *path, int pprof_alias);

/* The longest request path served (longer ones: 414). */
#define HTTP_MAX_PATH 256

#endif
