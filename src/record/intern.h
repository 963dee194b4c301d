/* The process-wide table of interned names (region names, task types, log
 * categories): lock-free insert and lookup, fixed memory, stable ids. */
#ifndef CT_RECORD_INTERN_H
#define CT_RECORD_INTERN_H

#include <stddef.h>
#include <stdint.h>

#define INTERN_MAX_NAMES 65535u /* ids 1..65535 */
#define INTERN_MAX_LEN	 1024u	/* longer names are cut */

/* Returns the id of s, interning it if new; 0 when the table is full. */
uint32_t intern(const char *s);
/* The string of an id (NULL if unused), and its length. Safe from any
 * thread once the id was returned by intern(). */
const char *intern_lookup(uint32_t id, size_t *len);
/* How many interns failed because the table was full. */
uint64_t intern_overflows(void);

#endif
