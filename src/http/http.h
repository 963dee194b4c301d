/* The admin endpoint's internal entry points (server.c). */
#ifndef CT_HTTP_HTTP_H
#define CT_HTTP_HTTP_H

/* Starts the endpoint from CTRACE_HTTP (and CTRACE_HTTP_TOKEN[_FILE],
 * CTRACE_HTTP_MAX_SECONDS, CTRACE_HTTP_PPROF) when it is set; a bad value
 * is one line on stderr. Called by the capture's constructor. */
void http_auto_start(void);

#endif
