/* A small multi-threaded request pipeline, traced with ctrace: two acceptor
 * threads begin a task per request, a pool of workers continues each task
 * (parse, lookup, render), and a responder thread finishes it (send). Every
 * 25th request takes a slow path in lookup, so the report has a tail to
 * explain.
 *
 *   pipeline [-o FILE] [-n REQUESTS] [-w WORKERS] [-q]
 */
#define _GNU_SOURCE /* pthread_setname_np */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ctrace.h"

#define QCAP 1024

struct item {
	ct_task task; /* the handle that carries the request between threads */
	int req;
};

/* A bounded blocking queue (the hand-off between stages). */
struct queue {
	pthread_mutex_t mu;
	pthread_cond_t nonempty, nonfull;
	struct item items[QCAP];
	unsigned head, len;
	int closed;
};

static void q_init(struct queue *q)
{
	memset(q, 0, sizeof *q);
	pthread_mutex_init(&q->mu, NULL);
	pthread_cond_init(&q->nonempty, NULL);
	pthread_cond_init(&q->nonfull, NULL);
}

static void q_push(struct queue *q, struct item t)
{
	pthread_mutex_lock(&q->mu);
	while (q->len == QCAP)
		pthread_cond_wait(&q->nonfull, &q->mu);
	q->items[(q->head + q->len++) % QCAP] = t;
	pthread_cond_signal(&q->nonempty);
	pthread_mutex_unlock(&q->mu);
}

static int q_pop(struct queue *q, struct item *t)
{
	pthread_mutex_lock(&q->mu);
	while (q->len == 0 && !q->closed)
		pthread_cond_wait(&q->nonempty, &q->mu);
	if (q->len == 0) {
		pthread_mutex_unlock(&q->mu);
		return 0;
	}
	*t = q->items[q->head];
	q->head = (q->head + 1) % QCAP;
	q->len--;
	pthread_cond_signal(&q->nonfull);
	pthread_mutex_unlock(&q->mu);
	return 1;
}

static void q_close(struct queue *q)
{
	pthread_mutex_lock(&q->mu);
	q->closed = 1;
	pthread_cond_broadcast(&q->nonempty);
	pthread_mutex_unlock(&q->mu);
}

static struct queue work_q, send_q;
static int nrequests = 400, nworkers = 6;
static const int slow_every = 25;

static void pause_us(long us)
{
	struct timespec ts = {us / 1000000, (us % 1000000) * 1000};
	while (nanosleep(&ts, &ts) != 0)
		;
}

static void *acceptor(void *arg)
{
	int id = (int)(long)arg;
	char name[16];
	snprintf(name, sizeof name, "acceptor-%d", id);
	pthread_setname_np(pthread_self(), name);
	for (int i = id; i < nrequests; i += 2) {
		ct_task t = CT_TASK_BEGIN("request", 0);
		ct_logf("accept", "request %d from client %d", i, i % 7);
		{
			CT_REGION("accept");
			pause_us(50);
		}
		ct_task_leave(t); /* the worker pool continues it */
		q_push(&work_q, (struct item){t, i});
		pause_us(200);
	}
	return NULL;
}

static void *worker(void *arg)
{
	char name[16];
	snprintf(name, sizeof name, "worker-%d", (int)(long)arg);
	pthread_setname_np(pthread_self(), name);
	struct item it;
	while (q_pop(&work_q, &it)) {
		ct_task t = it.task;
		ct_task_enter(t);
		{
			CT_REGION("parse");
			pause_us(100);
		}
		{
			CT_REGION("lookup");
			{
				CT_REGION("cache");
				pause_us(100);
			}
			if (it.req % slow_every == slow_every - 1) {
				CT_REGION("database");
				ct_log("lookup", "cache miss: going to the database");
				pause_us(20000);
			}
		}
		{
			CT_REGION("render");
			pause_us(150);
		}
		ct_task_leave(t);
		q_push(&send_q, it);
	}
	return NULL;
}

static void *responder(void *arg)
{
	(void)arg;
	pthread_setname_np(pthread_self(), "responder");
	struct item it;
	while (q_pop(&send_q, &it)) {
		ct_task t = it.task;
		ct_task_enter(t);
		{
			CT_REGION("send");
			pause_us(30);
		}
		ct_task_end(t);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	const char *out = NULL;
	int quiet = 0, opt;
	while ((opt = getopt(argc, argv, "o:n:w:qh")) != -1) {
		switch (opt) {
		case 'o':
			out = optarg;
			break;
		case 'n':
			nrequests = atoi(optarg);
			break;
		case 'w':
			nworkers = atoi(optarg);
			break;
		case 'q':
			quiet = 1;
			break;
		default:
			fprintf(stderr, "usage: %s [-o FILE] [-n REQUESTS] [-w WORKERS] [-q]\n",
				argv[0]);
			return opt == 'h' ? 0 : 2;
		}
	}
	if (nrequests < 1 || nworkers < 1 || nworkers > 64) {
		fprintf(stderr, "pipeline: bad -n or -w\n");
		return 2;
	}
	if (out) { /* otherwise CTRACE_OUTPUT may have started a capture */
		struct ct_config c;
		ct_config_init(&c);
		if (ct_config_from_env(&c) != 0 || (c.path = out, ct_start(&c)) != 0) {
			fprintf(stderr, "pipeline: cannot trace: %s\n", ct_last_error());
			return 1;
		}
	}
	q_init(&work_q);
	q_init(&send_q);
	pthread_t acc[2], wk[64], rsp;
	for (long i = 0; i < 2; i++)
		pthread_create(&acc[i], NULL, acceptor, (void *)i);
	for (long i = 0; i < nworkers; i++)
		pthread_create(&wk[i], NULL, worker, (void *)(i + 1));
	pthread_create(&rsp, NULL, responder, NULL);
	for (int i = 0; i < 2; i++)
		pthread_join(acc[i], NULL);
	q_close(&work_q);
	for (int i = 0; i < nworkers; i++)
		pthread_join(wk[i], NULL);
	q_close(&send_q);
	pthread_join(rsp, NULL);
	if (out && ct_stop() != 0) {
		fprintf(stderr, "pipeline: writing the trace failed\n");
		return 1;
	}
	if (!quiet)
		printf("pipeline: %d requests through %d threads (2 acceptors, %d workers, "
		       "1 responder)%s%s\n",
		       nrequests, nworkers + 3, nworkers, out ? ", trace in " : "", out ? out : "");
	return 0;
}
