/* Capture control for ctrace's own interposers (capture.c). */
#ifndef CT_RECORD_CAPTURE_H
#define CT_RECORD_CAPTURE_H

/* The process is ending without exit handlers (_exit): stops the running
 * capture so that its trace is complete, if that can be done safely, and
 * within a bounded time. */
void capture_stop_at_exit(void);

/* For the admin endpoint (src/http): what the recording feeds now (under
 * the control lock), and ct_last_error's message for an error of its own. */
void capture_outputs(int *stream, int *flight);
int capture_set_error(int code, const char *msg);

#endif
