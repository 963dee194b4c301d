/* The event spec table: the single description of every event kind. */
#include "spec.h"

#include <string.h>

#include "varint.h"

const struct ct_spec ct_spec_table[CT_EV_TYPE_COUNT] = {
	[CT_EV_TASK_BEGIN] = {CT_EV_TASK_BEGIN,
			      3,
			      CT_SPEC_STACK_ABLE,
			      "task.begin",
			      {CT_ARG_TASK, CT_ARG_STRING, CT_ARG_TASK}},
	[CT_EV_TASK_END] = {CT_EV_TASK_END, 1, CT_SPEC_STACK_ABLE, "task.end", {CT_ARG_TASK}},
	[CT_EV_TASK_ENTER] = {CT_EV_TASK_ENTER, 1, CT_SPEC_STACK_ABLE, "task.enter", {CT_ARG_TASK}},
	[CT_EV_TASK_LEAVE] = {CT_EV_TASK_LEAVE, 1, CT_SPEC_STACK_ABLE, "task.leave", {CT_ARG_TASK}},
	[CT_EV_REGION_BEGIN] =
		{CT_EV_REGION_BEGIN, 1, CT_SPEC_STACK_ABLE, "region.begin", {CT_ARG_STRING}},
	[CT_EV_REGION_END] = {CT_EV_REGION_END, 0, CT_SPEC_STACK_ABLE, "region.end", {0}},
	[CT_EV_LOG] = {CT_EV_LOG, 1, CT_SPEC_BYTES | CT_SPEC_STACK_ABLE, "log", {CT_ARG_STRING}},
	[CT_EV_LOSS] = {CT_EV_LOSS, 3, 0, "loss", {CT_ARG_UINT, CT_ARG_DURATION, CT_ARG_UINT}},
	[CT_EV_THREAD_END] = {CT_EV_THREAD_END, 0, 0, "thread.end", {0}},
	[CT_EV_WAIT_BEGIN] = {CT_EV_WAIT_BEGIN,
			      3,
			      CT_SPEC_STACK_ABLE,
			      "wait.begin",
			      {CT_ARG_UINT, CT_ARG_ADDR, CT_ARG_UINT}},
	[CT_EV_WAIT_END] = {CT_EV_WAIT_END, 1, 0, "wait.end", {CT_ARG_INT}},
	[CT_EV_SCHED_OUT] = {CT_EV_SCHED_OUT, 1, 0, "sched.out", {CT_ARG_UINT}},
	[CT_EV_SCHED_IN] = {CT_EV_SCHED_IN, 1, 0, "sched.in", {CT_ARG_UINT}},
	[CT_EV_SCHED_SAMPLE] = {CT_EV_SCHED_SAMPLE,
				3,
				0,
				"sched.sample",
				{CT_ARG_DURATION, CT_ARG_DURATION, CT_ARG_UINT}},
	[CT_EV_FAULT] = {CT_EV_FAULT,
			 3,
			 CT_SPEC_STACK_ABLE,
			 "fault",
			 {CT_ARG_UINT, CT_ARG_UINT, CT_ARG_ADDR}},
	[CT_EV_CPU_SAMPLE] =
		{CT_EV_CPU_SAMPLE, 1, CT_SPEC_STACK_ABLE, "cpu.sample", {CT_ARG_DURATION}},
	[CT_EV_THROTTLE] =
		{CT_EV_THROTTLE, 3, 0, "throttle", {CT_ARG_UINT, CT_ARG_DURATION, CT_ARG_UINT}},
	[CT_EV_TASK_TRACE] = {CT_EV_TASK_TRACE,
			      6,
			      0,
			      "task.trace",
			      {CT_ARG_TASK, CT_ARG_UINT, CT_ARG_UINT, CT_ARG_UINT, CT_ARG_UINT,
			       CT_ARG_UINT}},
	[CT_EV_KERNEL_TIME] = {CT_EV_KERNEL_TIME, 1, 0, "kernel.time", {CT_ARG_DURATION}},
};

size_t ct_spec_encode(uint8_t *out, size_t cap)
{
	uint8_t tmp[64];
	size_t need = 0;
	for (int pass = 0; pass < 2; pass++) {
		size_t n = 0;
		uint32_t count = 0;
		for (unsigned t = 0; t < CT_EV_TYPE_COUNT; t++)
			count += ct_spec_table[t].name != NULL;
		if (pass == 1)
			n += (size_t)(ct_put_uvarint(out + n, count) - (out + n));
		else
			n += ct_uvarint_len(count);
		for (unsigned t = 0; t < CT_EV_TYPE_COUNT; t++) {
			const struct ct_spec *s = &ct_spec_table[t];
			if (!s->name)
				continue;
			size_t nl = strlen(s->name);
			uint8_t *p = tmp;
			*p++ = s->type;
			*p++ = s->argc;
			*p++ = s->flags;
			*p++ = (uint8_t)nl;
			memcpy(p, s->name, nl);
			p += nl;
			memcpy(p, s->args, s->argc);
			p += s->argc;
			size_t len = (size_t)(p - tmp);
			if (pass == 1)
				memcpy(out + n, tmp, len);
			n += len;
		}
		if (pass == 0) {
			need = n;
			if (need > cap)
				return need;
		}
	}
	return need;
}
