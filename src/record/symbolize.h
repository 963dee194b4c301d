/* Off-hot-path symbolization of this process's code addresses, for the
 * recorder's writer thread: function, file, line and inlined frames (libdw),
 * plus the executable mappings and their GNU build ids for re-symbolization. */
#ifndef CT_RECORD_SYMBOLIZE_H
#define CT_RECORD_SYMBOLIZE_H

#include <stddef.h>
#include <stdint.h>

/* One frame at an address. Unknown parts are "" and 0, never NULL. */
struct sym_frame {
	const char *function;
	const char *file;
	uint32_t line;
};

/* A file-backed executable mapping of the process, as /proc/self/maps shows
 * it (anonymous code, e.g. a JIT's, is not listed). path is the file, or
 * "[vdso]". build_id holds the raw bytes of the GNU build id of the object
 * loaded there, read from memory (build_id_len 0 when it has none). */
struct sym_mapping {
	uint64_t start, end, offset;
	const char *path;
	const uint8_t *build_id;
	size_t build_id_len;
};

/* Deepest inline chain sym_lookup keeps for one address; deeper chains keep
 * their innermost frames and lose the outer ones. */
#define SYM_MAX_FRAMES 32

struct symbolizer;

/* A symbolizer for the current process, its mappings read once. NULL (errno
 * set) on failure. Single-threaded: use one symbolizer from one thread; other
 * threads may run, dlopen and dlclose meanwhile.
 *
 * Debug info is the module's own DWARF, else separate debuginfo found
 * locally (/usr/lib/debug/.build-id, .gnu_debuglink); debuginfod is used
 * only if CTRACE_DEBUGINFOD=1 (it loads libcurl into the process and may
 * download). Without DWARF, the ELF symbol table names exported functions.
 * A module whose file on disk is not the build that is loaded (its build id
 * differs) is not symbolized at all rather than named wrongly. */
struct symbolizer *sym_open(void);
void sym_close(struct symbolizer *s);

/* Re-read the process's executable mappings, e.g. to see libraries dlopen'd
 * since. Returns 1 if they changed, 0 if not (cheap: one read of
 * /proc/self/maps), or a negative errno. Cached lookups of addresses whose
 * mapping did not change survive; the others are forgotten. Call it before
 * symbolizing a batch of addresses (a generation) so that new code is known. */
int sym_refresh(struct symbolizer *s);

/* Frames at addr, innermost first: the inlined frames, if any, then the
 * function containing them. Pass return_address - 1 for a return address so
 * the line is the call's line. Returns the number of frames written (at most
 * max; 0 when nothing is known about addr) and stores in *mapping (if not
 * NULL) the 1-based index of the mapping holding addr, 0 if none. The strings
 * stay valid until sym_close. Results are cached per address. */
int sym_lookup(struct symbolizer *s, uint64_t addr, struct sym_frame *out, int max,
	       uint32_t *mapping);

/* The executable mappings, sorted by address: mapping index i + 1 is
 * (*out)[i]. Valid, and the indexes sym_lookup returns stable, until a
 * sym_refresh that does not return 0, or sym_close. */
size_t sym_mappings(struct symbolizer *s, const struct sym_mapping **out);

#endif
