/* The admin endpoint's status page: what the recording feeds, its buffers
 * and losses, the flight recorder's window, the recent dumps and why they
 * were written. Counters and names only: never an event's contents (log
 * messages stay in traces, which the token guards). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ctrace.h"
#include "http/server.h"
#include "record/capture.h"
#include "record/dumplog.h"

static void json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p == '"' || *p == '\\')
			fprintf(f, "\\%c", *p);
		else if (*p < 0x20 || *p >= 0x7f)
			fprintf(f, "\\u%04x", *p); /* bytes as code points: ASCII-safe */
		else
			fputc(*p, f);
	}
	fputc('"', f);
}

static void iso_time(char *out, size_t cap, uint64_t ns)
{
	time_t s = (time_t)(ns / 1000000000u);
	struct tm tm;
	gmtime_r(&s, &tm);
	size_t n = strftime(out, cap, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out + n, cap - n, ".%03uZ", (unsigned)(ns / 1000000u % 1000u));
}

char *http_status_json(void)
{
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);
	if (!f)
		return NULL;
	int stream, flight;
	capture_outputs(&stream, &flight);
	struct ct_stats st;
	ct_get_stats(&st);
	struct capture *c = srv.cap;
	int ours = c && !c->stopped;
	fprintf(f, "{\n  \"version\": \"%s\",\n  \"pid\": %d,\n  \"program\": ", CT_VERSION_STRING,
		(int)getpid());
	json_str(f, program_invocation_short_name);
	fprintf(f, ",\n  \"recording\": %s,\n", ct_active() ? "true" : "false");
	fprintf(f, "  \"outputs\": {\"stream\": %s, \"stream_owner\": %s, \"flight\": %s},\n",
		stream ? "true" : "false",
		!stream ? "null"
		: ours	? "\"endpoint\""
			: "\"program\"",
		flight ? "true" : "false");
	fprintf(f,
		"  \"stats\": {\"events\": %llu, \"lost\": %llu, \"bytes\": %llu, "
		"\"generations\": %llu, \"threads\": %llu, \"writer_cpu_ns\": %llu},\n",
		(unsigned long long)st.events, (unsigned long long)st.lost,
		(unsigned long long)st.bytes, (unsigned long long)st.generations,
		(unsigned long long)st.threads, (unsigned long long)st.writer_cpu_ns);
	struct writer_status ws;
	writer_status_get(&ws);
	int on = ct_active();
	fprintf(f, "  \"buffers\": {\"bytes\": %llu, \"in_use\": %llu},\n",
		(unsigned long long)(on ? ws.buffer_bytes : 0),
		(unsigned long long)(on ? ws.buffer_bytes - ws.buffer_free_bytes : 0));
	fprintf(f,
		"  \"memory\": {\"pool\": %llu, \"writer\": %llu, \"window\": %llu, "
		"\"total\": %llu},\n",
		(unsigned long long)st.mem_pool, (unsigned long long)st.mem_writer,
		(unsigned long long)st.mem_window, (unsigned long long)st.mem_bytes);
	fprintf(f,
		"  \"flight\": {\"running\": %s, \"frames\": %llu, \"bytes\": %llu, "
		"\"bytes_max\": %llu, \"window_ns\": %llu},\n",
		flight ? "true" : "false", (unsigned long long)(flight ? ws.flight_frames : 0),
		(unsigned long long)(flight ? ws.flight_bytes : 0),
		(unsigned long long)st.flight_bytes_max,
		(unsigned long long)(flight ? ws.flight_window_ns : 0));
	struct dumplog_entry d[DUMPLOG_MAX];
	uint64_t total = 0;
	size_t n = dumplog_get(d, DUMPLOG_MAX, &total);
	fprintf(f, "  \"dumps\": {\"total\": %llu, \"cooldown_ns\": %llu, \"recent\": [",
		(unsigned long long)total, (unsigned long long)dump_cooldown_get());
	for (size_t i = 0; i < n; i++) {
		char t[40];
		iso_time(t, sizeof t, d[i].time_ns);
		fprintf(f, "%s\n    {\"time\": \"%s\", \"reason\": ", i ? "," : "", t);
		json_str(f, d[i].reason);
		fputs(", \"kind\": ", f);
		json_str(f, d[i].kind);
		fprintf(f, ", \"bytes\": %llu, \"window_ns\": %llu, \"ok\": %s",
			(unsigned long long)d[i].bytes, (unsigned long long)d[i].window_ns,
			d[i].rc ? "false" : "true");
		if (d[i].file[0]) {
			fputs(", \"file\": ", f);
			json_str(f, d[i].file);
		}
		fputc('}', f);
	}
	fputs(n ? "\n  ]},\n" : "]},\n", f);
	fprintf(f, "  \"endpoint\": {\"address\": ");
	json_str(f, srv.address);
	fprintf(f,
		", \"port\": %u, \"token\": %s, \"max_seconds\": %u, \"requests\": %llu, "
		"\"refused\": %llu, \"captures\": %llu, \"flight_dumps\": %llu",
		srv.port, srv.token ? "true" : "false", srv.max_seconds,
		(unsigned long long)srv.requests, (unsigned long long)srv.refused,
		(unsigned long long)srv.captures, (unsigned long long)srv.dumps);
	if (ours) {
		pthread_mutex_lock(&c->mu);
		uint64_t queued = c->len, written = c->written;
		pthread_mutex_unlock(&c->mu);
		uint64_t now = http_mono_ns();
		fputs(",\n    \"capture\": {\"client\": ", f);
		json_str(f, c->peer);
		fprintf(f,
			", \"seconds\": %u, \"elapsed_ns\": %llu, \"bytes_written\": %llu, "
			"\"bytes_sent\": %llu, \"queued\": %llu, \"queue_bytes\": %zu}",
			c->seconds, (unsigned long long)(now - c->start_ns),
			(unsigned long long)written, (unsigned long long)c->sent,
			(unsigned long long)queued, c->cap);
	}
	fputs("}\n}\n", f);
	if (fclose(f) != 0) {
		free(out);
		return NULL;
	}
	return out;
}
