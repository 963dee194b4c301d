/* Writes a synthetic flight-recorder dump for test_diagnose_run.sh: its
 * header names a triggering task (99) the window does not hold, and it has
 * two tasks: 1, queued between two threads (no thread worked for it most of
 * its 10 ms), and 2, a shorter one that waited for a mutex 60% of its 2 ms
 * and ran the rest (a runner-up above DIAG_ALSO_SHARE). Usage: diag_trace
 * OUT.ct */
#include <stdio.h>

#include "tracebuilder.h"

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: diag_trace OUT.ct\n");
		return 2;
	}
	struct tb b;
	tb_init(&b);
	tb_meta(&b, "dump.reason", "slow-job");
	tb_meta(&b, "trigger.kind", "slow-task");
	tb_meta(&b, "trigger.task", "99");
	tb_meta(&b, "trigger.task_type", "job");
	tb_gen_begin(&b, 1);
	tb_thread(&b, 1, 4001, "acceptor", 0);
	tb_thread(&b, 2, 4002, "worker", 0);
	tb_string(&b, 1, "job");
	/* task 1 begins on the acceptor at 1 ms and is handed off at 1.1 ms */
	tb_batch_begin(&b, 1, 1000000);
	TB_EV(&b, CT_EV_TASK_BEGIN, 0, 1, 1, 0);
	TB_EV(&b, CT_EV_TASK_LEAVE, 100000, 1);
	TB_EV(&b, CT_EV_TASK_BEGIN, 100000, 2, 1, 0);
	TB_EV(&b, CT_EV_WAIT_BEGIN, 400000, CT_WAIT_MUTEX, 0x1000, 0);
	TB_EV(&b, CT_EV_WAIT_END, 1200000, 0);
	TB_EV(&b, CT_EV_TASK_END, 400000, 2);
	tb_batch_end(&b);
	/* ...and is picked up by the worker at 10 ms, done at 11 ms */
	tb_batch_begin(&b, 2, 10000000);
	TB_EV(&b, CT_EV_TASK_ENTER, 0, 1);
	TB_EV(&b, CT_EV_TASK_END, 1000000, 1);
	tb_batch_end(&b);
	tb_gen_end(&b, 0);
	tb_end(&b, 6, 0, 1);
	int rc = tb_write_file(&b, argv[1]);
	tb_free(&b);
	if (rc) {
		fprintf(stderr, "diag_trace: cannot write %s\n", argv[1]);
		return 1;
	}
	return 0;
}
