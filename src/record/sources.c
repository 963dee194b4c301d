/* The capture's sources (sources.h): each hook calls every source that
 * takes part in it, in a fixed order. */
#include "record/sources.h"
#include "record/src_cpu.h"
#include "record/src_sched.h"
#include "record/src_cgroup.h"

void sources_start(const struct ct_config *cfg)
{
	cpu_start(cfg);
	src_sched_start(cfg);
	cgroup_start(cfg);
}

uint64_t sources_flush_ns(void)
{
	return src_sched_flush_ns();
}

void sources_meta(void (*put)(void *ctx, const char *key, const char *value), void *ctx)
{
	cpu_meta(put, ctx);
	src_sched_meta(put, ctx);
	cgroup_meta(put, ctx);
}

void sources_thread_start(struct trec *r)
{
	cpu_thread_start(r);
	src_sched_thread_start(r);
}

void sources_thread_exit(struct trec *r)
{
	cpu_thread_end(r);
	src_sched_thread_exit(r);
}

void sources_round(uint64_t now_ns)
{
	cgroup_round(now_ns);
}

void sources_collect(struct trec *r, int exited)
{
	src_sched_collect(r, exited);
}

void sources_thread_end(struct trec *r)
{
	cpu_thread_end(r);
	src_sched_thread_end(r);
}

void sources_stop(void)
{
	cpu_stop();
	src_sched_stop();
	cgroup_stop();
}

uint64_t sources_wait_ns(void)
{
	return src_sched_wait_ns();
}

uint64_t sources_take_lost(void)
{
	return src_sched_take_lost();
}
