/* libFuzzer target for the admin endpoint's request parsing (src/http/
 * parse.h): any bytes as an address, a seconds value, an Authorization
 * header or a path give an answer, never a crash or an out-of-bounds read,
 * and the answers keep their promises (a parsed address re-parses the
 * same, seconds are within 1..max, only the exact token passes).
 *   cmake -S . -B /tmp/fz -DCTRACE_FUZZ=ON -DCMAKE_C_COMPILER=clang
 *   cmake --build /tmp/fz --target fuzz_http
 *   /tmp/fz/tests/fuzz_http -max_total_time=60 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "http/parse.h"

static const char token[] = "t0ken-Of-Some-length";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* a NUL-terminated copy, in a buffer of its exact size for ASan */
	char *s = malloc(size + 1);
	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = 0;

	char host[64];
	unsigned port;
	int iv6;
	const char *why = NULL;
	if (http_parse_address(s, host, sizeof host, &port, &iv6, &why) == 0) {
		if (port > 65535 || strlen(host) >= sizeof host)
			abort();
		(void)http_is_loopback(host, iv6);
		/* what it parsed, written back, parses to the same */
		char again[96], host2[64];
		unsigned port2;
		int v62;
		snprintf(again, sizeof again, iv6 ? "[%s]:%u" : "%s:%u", host, port);
		if (http_parse_address(again, host2, sizeof host2, &port2, &v62, &why) != 0 ||
		    strcmp(host, host2) || port != port2 || iv6 != v62)
			abort();
	} else if (!why) {
		abort(); /* a refusal always says why */
	}
	unsigned secs = 0, max = size ? data[0] : 30;
	why = NULL;
	if (http_parse_seconds(s, max, &secs, &why) == 0) {
		if (secs < 1 || secs > max)
			abort();
	} else if (!why) {
		abort();
	}

	if (http_token_ok(s, token)) {
		/* only "Bearer" (any case), spaces, then exactly the token */
		const char *v = s + 7;
		while (*v == ' ')
			v++;
		if (strncasecmp(s, "Bearer ", 7) != 0 || strcmp(v, token) != 0)
			abort();
	}

	enum http_route r = http_route(s, size & 1);
	if (r != HTTP_ROUTE_NONE && strncmp(s, "/debug/", 7) != 0)
		abort();
	free(s);
	return 0;
}
