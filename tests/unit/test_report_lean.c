/* The report's lean first pass (src/read/lean.h) must give exactly what pass
 * 1 gives when fed the public reader's events, on random traces. */
#include "report_events.h"

static void lean_trace(struct tb *b, uint64_t seed, int sparse, int odd_spec, int compress)
{
	static const uint8_t k_str2[] = {CT_ARG_STRING, CT_ARG_UINT};
	tb_init_empty(b);
	for (unsigned t = 0; t < CT_EV_TYPE_COUNT; t++) {
		const struct ct_spec *s = &ct_spec_table[t];
		if (!s->name)
			continue;
		if (odd_spec && t == CT_EV_REGION_BEGIN)
			tb_add_spec(b, (uint8_t)t, 2, s->flags, s->name, k_str2);
		else
			tb_add_spec(b, s->type, s->argc, s->flags, s->name, s->args);
	}
	b->clock[0] = CT_CLOCK_TSC;
	b->clock[1] = 2500000000ull; /* ticks are not nanoseconds */
	uint64_t x = seed, sid0 = sparse ? 1ull << 30 : 1;
	uint64_t ts[4] = {0, 1000, 1000, 1000};
	for (uint64_t g = 1; g <= 3; g++) {
		tb_gen_begin(b, g);
		b->clock[2] = 1000;    /* ref_ticks */
		b->clock[3] = 5000000; /* ref_mono */
		for (uint64_t i = 0; i < 4; i++)
			tb_string(b, sid0 + i * 3,
				  i == 3 ? "" : (const char *[]){"a", "b", "c"}[i]);
		tb_stack(b, 7, 0, NULL);
		for (uint64_t th = 1; th <= 3; th++) {
			tb_thread(b, th, 100 + th, "t", 0);
			tb_batch_begin(b, th, ts[th]);
			for (int i = 0; i < 400; i++) {
				x ^= x << 13, x ^= x >> 7, x ^= x << 17;
				uint64_t d = (x >> 8) % 3000, id = 1 + (x >> 20) % 9;
				uint64_t sid = (x >> 30) % 5 == 4 ? 0 : sid0 + ((x >> 30) % 4) * 3;
				ts[th] += d;
				switch ((x >> 40) % 18) {
				case 14:
					TB_EV(b, CT_EV_SCHED_OUT, d, 1 + (x >> 50) % 2);
					break;
				case 15:
					TB_EV(b, CT_EV_SCHED_IN, d, (x >> 50) % 2);
					break;
				case 16:
					TB_EV(b, CT_EV_FAULT, d, 1 + (x >> 50) % 2,
					      1 + (x >> 52) % 2, (x >> 54) % 2 ? 0x1000 : 0);
					break;
				case 17:
					TB_EV(b, CT_EV_SCHED_SAMPLE, d, d / 2, d / 4, 1);
					break;
				case 12:
					TB_EVS(b, CT_EV_WAIT_BEGIN, d, 7, 1 + (x >> 50) % 13, 9,
					       (x >> 54) % 4);
					break;
				case 13:
					TB_EV(b, CT_EV_WAIT_END, d, 0);
					break;
				case 0:
				case 1:
					TB_EV(b, CT_EV_TASK_BEGIN, d, (x >> 50) % 7 ? id : 0, sid,
					      id / 2);
					break;
				case 2:
				case 3:
					TB_EV(b, CT_EV_TASK_END, d, (x >> 50) % 7 ? id : 0);
					break;
				case 4:
				case 5:
					if (odd_spec)
						TB_EV(b, CT_EV_REGION_BEGIN, d, sid, 5);
					else if ((x >> 50) % 4 == 0)
						TB_EVS(b, CT_EV_REGION_BEGIN, d, 7, sid);
					else
						TB_EV(b, CT_EV_REGION_BEGIN, d, sid);
					break;
				case 6:
				case 7:
					TB_EV0(b, CT_EV_REGION_END, d);
					break;
				case 8:
					TB_LOG(b, d, sid, "m");
					break;
				case 9:
					TB_EV(b, CT_EV_LOSS, d, 3, 40, 1);
					break;
				case 10:
					TB_EV(b, CT_EV_TASK_ENTER, d, id);
					break;
				default:
					if ((x >> 50) % 8 == 0)
						TB_EV0(b, CT_EV_THREAD_END, d);
					else
						TB_EV0(b, CT_EV_REGION_END, d);
				}
			}
			tb_batch_end(b);
		}
		tb_gen_end(b, compress);
	}
	tb_end(b, 0, 0, 3);
}

static const struct report_result *pass1(const struct tb *b, int lean, struct report **out)
{
	struct report_options o = {.top_tasks = 5, .top_regions = 50};
	struct report *r = report_new(&o);
	ct_reader *rd;
	assert_int_equal(ct_reader_open_mem(b->out.p, b->out.len, &rd), 0);
	ct_reader_set_order(rd, CT_ORDER_THREAD);
	const struct ct_generation *g;
	struct ct_event ev;
	while (ct_reader_next_generation(rd, &g) == 1) {
		report_generation(r, g);
		if (lean)
			assert_int_equal(report_read_generation(r, rd), 0);
		else
			while (ct_reader_next_in_generation(rd, &ev) == 1)
				report_event(r, &ev);
	}
	ct_reader_close(rd);
	*out = r;
	return report_finish(r);
}

static void test_lean_matches_events(void **state)
{
	(void)state;
	for (int v = 0; v < 8; v++) {
		struct tb b;
		lean_trace(&b, 0x9E3779B97F4A7C15ull + (uint64_t)v * 7919, v & 1, v >> 1 & 1,
			   v >> 2);
		struct report *ra, *rb;
		const struct report_result *a = pass1(&b, 1, &ra), *e = pass1(&b, 0, &rb);
		assert_true(e->events > 0);
		assert_int_equal(a->events, e->events);
		assert_int_equal(a->first_ns, e->first_ns);
		assert_int_equal(a->last_ns, e->last_ns);
		assert_memory_equal(a->events_by_kind, e->events_by_kind,
				    sizeof(a->events_by_kind));
		assert_int_equal(a->tasks_begun, e->tasks_begun);
		assert_int_equal(a->tasks_finished, e->tasks_finished);
		assert_int_equal(a->tasks_unfinished, e->tasks_unfinished);
		assert_int_equal(a->regions_total, e->regions_total);
		assert_int_equal(a->regions_unmatched, e->regions_unmatched);
		assert_int_equal(a->regions_unclosed, e->regions_unclosed);
		assert_int_equal(a->loss.events, e->loss.events);
		assert_int_equal(a->loss.nranges, e->loss.nranges);
		assert_memory_equal(a->loss.ranges, e->loss.ranges,
				    a->loss.nranges * sizeof(*a->loss.ranges));
		assert_int_equal(a->nthreads, e->nthreads);
		assert_int_equal(a->waits, e->waits);
		assert_true(a->waits > 0);
		assert_int_equal(a->waits_open, e->waits_open);
		assert_int_equal(a->waits_unmatched, e->waits_unmatched);
		assert_int_equal(a->nwait_sites, e->nwait_sites);
		for (uint32_t i = 0; i < a->nwait_sites; i++) {
			assert_int_equal(a->wait_sites[i].reason, e->wait_sites[i].reason);
			assert_int_equal(a->wait_sites[i].total_ns, e->wait_sites[i].total_ns);
			assert_int_equal(a->wait_sites[i].count, e->wait_sites[i].count);
		}
		for (uint32_t i = 0; i < a->nthreads; i++) {
			assert_int_equal(a->threads[i].span_ns, e->threads[i].span_ns);
			assert_memory_equal(&a->threads[i].waits, &e->threads[i].waits,
					    sizeof(a->threads[i].waits));
			assert_int_equal(a->threads[i].events, e->threads[i].events);
			assert_int_equal(a->threads[i].exited, e->threads[i].exited);
			assert_memory_equal(&a->threads[i].states, &e->threads[i].states,
					    sizeof(a->threads[i].states));
			assert_int_equal(a->threads[i].switches, e->threads[i].switches);
			assert_int_equal(a->threads[i].faults_major, e->threads[i].faults_major);
			assert_int_equal(a->threads[i].sched_source, e->threads[i].sched_source);
		}
		assert_true(a->cpu.switches > 0);
		assert_int_equal(a->cpu.switches, e->cpu.switches);
		assert_int_equal(a->cpu.peak, e->cpu.peak);
		assert_int_equal(a->cpu.measured_ns, e->cpu.measured_ns);
		assert_int_equal(a->cpu.p99, e->cpu.p99);
		assert_int_equal(a->cpu.fault_blocked_ns, e->cpu.fault_blocked_ns);
		assert_int_equal(a->ntypes, e->ntypes);
		for (uint32_t i = 0; i < a->ntypes; i++) {
			assert_string_equal(a->types[i].name, e->types[i].name);
			assert_int_equal(a->types[i].count, e->types[i].count);
			assert_int_equal(a->types[i].total_ns, e->types[i].total_ns);
			assert_int_equal(a->types[i].p99_ns, e->types[i].p99_ns);
		}
		assert_int_equal(a->nslow, e->nslow);
		for (uint32_t i = 0; i < a->nslow; i++)
			assert_int_equal(a->slow[i].id, e->slow[i].id);
		assert_int_equal(a->ntop_regions, e->ntop_regions);
		for (uint32_t i = 0; i < a->ntop_regions; i++) {
			assert_string_equal(a->top_regions[i].name, e->top_regions[i].name);
			assert_int_equal(a->top_regions[i].count, e->top_regions[i].count);
			assert_int_equal(a->top_regions[i].total_ns, e->top_regions[i].total_ns);
			assert_int_equal(a->top_regions[i].self_ns, e->top_regions[i].self_ns);
			assert_int_equal(a->top_regions[i].max_ns, e->top_regions[i].max_ns);
		}
		report_free(ra);
		report_free(rb);
		tb_free(&b);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lean_matches_events),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
