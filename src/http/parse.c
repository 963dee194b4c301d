/* Request parsing for the admin endpoint (parse.h). */
#include "http/parse.h"

#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

static int parse_port(const char *p, unsigned *port)
{
	if (!*p || strlen(p) > 5)
		return -1;
	unsigned v = 0;
	for (; *p; p++) {
		if (*p < '0' || *p > '9')
			return -1;
		v = v * 10 + (unsigned)(*p - '0');
	}
	if (v > 65535)
		return -1;
	*port = v;
	return 0;
}

int http_parse_address(const char *s, char *host, size_t hostcap, unsigned *port, int *v6,
		       const char **why)
{
	const char *colon;
	char h[64];
	*v6 = 0;
	if (!s || !*s) {
		*why = "empty address";
		return -1;
	}
	if (s[0] == '[') {
		const char *close = strchr(s, ']');
		if (!close || close[1] != ':' || (size_t)(close - s - 1) >= sizeof h) {
			*why = "expected [IPV6]:PORT";
			return -1;
		}
		memcpy(h, s + 1, (size_t)(close - s - 1));
		h[close - s - 1] = 0;
		colon = close + 1;
		*v6 = 1;
	} else if ((colon = strrchr(s, ':'))) {
		if (strchr(s, ':') != colon) {
			*why = "an IPv6 address goes in brackets: [::1]:6060";
			return -1;
		}
		if ((size_t)(colon - s) >= sizeof h) {
			*why = "host too long";
			return -1;
		}
		memcpy(h, s, (size_t)(colon - s));
		h[colon - s] = 0;
	} else {
		h[0] = 0; /* "PORT" */
		colon = s - 1;
	}
	if (parse_port(colon + 1, port)) {
		*why = "the port must be a number from 0 to 65535";
		return -1;
	}
	if (!h[0] || !strcasecmp(h, "localhost"))
		snprintf(h, sizeof h, "%s", *v6 ? "::1" : "127.0.0.1");
	unsigned char a[16];
	if (inet_pton(*v6 ? AF_INET6 : AF_INET, h, a) != 1) {
		*why = *v6 ? "not a numeric IPv6 address" : "not a numeric IPv4 address";
		return -1;
	}
	if (strlen(h) >= hostcap) {
		*why = "host too long";
		return -1;
	}
	memcpy(host, h, strlen(h) + 1);
	return 0;
}

int http_is_loopback(const char *host, int v6)
{
	unsigned char a[16];
	if (v6) {
		static const unsigned char one[16] = {[15] = 1};
		static const unsigned char mapped[12] = {[10] = 0xff, [11] = 0xff};
		if (inet_pton(AF_INET6, host, a) != 1)
			return 0;
		if (!memcmp(a, one, 16))
			return 1;
		return !memcmp(a, mapped, 12) && a[12] == 127; /* ::ffff:127.x.y.z */
	}
	return inet_pton(AF_INET, host, a) == 1 && a[0] == 127;
}

int http_parse_seconds(const char *v, unsigned max, unsigned *out, const char **why)
{
	if (!v) {
		if (max < 1) {
			*why = "captures are off (maximum 0 s)";
			return -1;
		}
		*out = 1;
		return 0;
	}
	if (!*v) {
		*why = "seconds is empty";
		return -1;
	}
	uint64_t n = 0;
	for (const char *p = v; *p; p++) {
		if (*p < '0' || *p > '9') {
			*why = "seconds must be a whole positive number";
			return -1;
		}
		n = n * 10 + (uint64_t)(*p - '0');
		if (n > max) {
			*why = "seconds is above the maximum";
			return -1;
		}
	}
	if (n == 0) {
		*why = "seconds must be at least 1";
		return -1;
	}
	*out = (unsigned)n;
	return 0;
}

int http_token_ok(const char *header, const char *token)
{
	if (!header || strncasecmp(header, "Bearer ", 7) != 0)
		return 0;
	const char *v = header + 7;
	while (*v == ' ')
		v++;
	size_t vl = strlen(v), tl = strlen(token);
	/* Every byte of the token is compared, whatever the value sent. */
	volatile unsigned diff = vl != tl;
	for (size_t i = 0; i < tl; i++)
		diff |= (unsigned char)token[i] ^ (unsigned char)(i < vl ? v[i] : 0);
	return diff == 0;
}

enum http_route http_route(const char *path, int pprof_alias)
{
	if (!path)
		return HTTP_ROUTE_NONE;
	if (!strcmp(path, "/debug/ctrace/trace"))
		return HTTP_ROUTE_TRACE;
	if (!strcmp(path, "/debug/ctrace/flight"))
		return HTTP_ROUTE_FLIGHT;
	if (!strcmp(path, "/debug/ctrace/status"))
		return HTTP_ROUTE_STATUS;
	if (pprof_alias && !strcmp(path, "/debug/pprof/trace"))
		return HTTP_ROUTE_TRACE;
	return HTTP_ROUTE_NONE;
}
