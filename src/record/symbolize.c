/* Symbolizer for the writer thread: libdwfl over this process's mappings,
 * inline chains from DWARF, and the mapping table with build ids. */
#include "record/symbolize.h"
#include "record/symcache.h"

#include <dwarf.h>
#include <elfutils/libdw.h>
#include <elfutils/libdwelf.h>
#include <elfutils/libdwfl.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <link.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- CUs by address ------------------------------------------------------ */

/* libdwfl 0.188 maps an address to its CU only through .debug_aranges,
 * which clang does not emit by default: for such modules we index the CUs'
 * own address ranges once, kept as the module's userdata (freed when
 * libdwfl drops the module, see free_module_index). */
struct cu_range {
	uint64_t lo, hi;
	Dwarf_Off die;
};

struct cu_index {
	struct cu_range *r;
	size_t n;
};

static int cmp_range(const void *a, const void *b)
{
	const struct cu_range *x = a, *y = b;
	return x->lo < y->lo ? -1 : x->lo > y->lo;
}

static const struct cu_index *module_cu_index(Dwfl_Module *mod, Dwarf *dw)
{
	void **ud;

	dwfl_module_info(mod, &ud, NULL, NULL, NULL, NULL, NULL, NULL);
	if (*ud)
		return *ud;
	struct cu_index *idx = calloc(1, sizeof(*idx));
	if (!idx)
		return NULL;
	size_t cap = 0;
	Dwarf_CU *cu = NULL, *next;
	Dwarf_Half version;
	uint8_t type;
	Dwarf_Die cudie, sub;
	while (dwarf_get_units(dw, cu, &next, &version, &type, &cudie, &sub) == 0) {
		cu = next;
		if (type != DW_UT_compile)
			continue;
		Dwarf_Addr base, lo, hi;
		for (ptrdiff_t off = 0; (off = dwarf_ranges(&cudie, off, &base, &lo, &hi)) > 0;) {
			if (lo >= hi)
				continue;
			if (idx->n == cap) {
				size_t ncap = cap ? cap * 2 : 64;
				struct cu_range *r = realloc(idx->r, ncap * sizeof(*r));
				if (!r)
					goto done; /* a partial index only misses CUs */
				idx->r = r;
				cap = ncap;
			}
			idx->r[idx->n++] = (struct cu_range){lo, hi, dwarf_dieoffset(&cudie)};
		}
	}
done:
	if (idx->n)
		qsort(idx->r, idx->n, sizeof(*idx->r), cmp_range);
	*ud = idx;
	return idx;
}

static void free_cu_index(void *p)
{
	struct cu_index *idx = p;

	if (idx)
		free(idx->r);
	free(idx);
}

/* libdwfl declares the second argument void * but passes the address of the
 * module's userdata (MODCB_ARGS in libdwfl), as for dwfl_getmodules. */
static int free_removed_index(Dwfl_Module *mod, void *userdata, const char *name, Dwarf_Addr base,
			      void *arg)
{
	void **ud = userdata;

	(void)mod, (void)name, (void)base, (void)arg;
	free_cu_index(*ud);
	*ud = NULL;
	return 0;
}

static int free_module_index(Dwfl_Module *mod, void **userdata, const char *name, Dwarf_Addr base,
			     void *arg)
{
	(void)mod, (void)name, (void)base, (void)arg;
	free_cu_index(*userdata);
	*userdata = NULL;
	return DWARF_CB_OK;
}

/* The CU DIE holding addr (a module-relative address after bias), into
 * *die; through aranges first, the module's CU index otherwise. */
static bool find_cu(Dwfl_Module *mod, uint64_t addr, Dwarf_Die *die, Dwarf_Addr *bias)
{
	Dwarf_Die *cudie = dwfl_module_addrdie(mod, addr, bias);

	if (cudie) {
		*die = *cudie;
		return true;
	}
	Dwarf *dw = dwfl_module_getdwarf(mod, bias);
	const struct cu_index *idx = dw ? module_cu_index(mod, dw) : NULL;
	if (!idx || !idx->n)
		return false;
	uint64_t pc = addr - *bias;
	size_t lo = 0, hi = idx->n;
	while (lo < hi) { /* first range starting after pc */
		size_t mid = lo + (hi - lo) / 2;
		if (idx->r[mid].lo <= pc)
			lo = mid + 1;
		else
			hi = mid;
	}
	/* Ranges of distinct CUs do not overlap in practice; look back a few
	 * in case one does. */
	for (size_t i = lo, k = 0; i > 0 && k < 8; i--, k++)
		if (pc < idx->r[i - 1].hi)
			return dwarf_offdie(dw, idx->r[i - 1].die, die) != NULL;
	return false;
}

/* ---- the symbolizer ------------------------------------------------------ */

/* What identifies a mapping across refreshes, beside the public fields. */
struct mapping_id {
	uint64_t inode;
	unsigned dev_major, dev_minor;
};

struct symbolizer {
	Dwfl *dwfl;
	Dwfl_Callbacks callbacks;
	char *debuginfo_path;
	struct sym_strings strings;
	struct sym_cache cache;

	/* The executable lines of /proc/self/maps last seen: the change test. */
	char *xlines;
	size_t xlines_len;

	struct sym_mapping *maps;
	struct mapping_id *map_ids;
	uint8_t *build_ids; /* the bytes maps[].build_id point into */
	size_t nmaps;
};

/* libdw's standard debuginfo search ends with debuginfod: it dlopens
 * libdebuginfod (which drags libcurl, gnutls, krb5... into the traced
 * process) and, if DEBUGINFOD_URLS is set, downloads. A tracer must not do
 * that behind the program's back, so the standard search runs only with
 * CTRACE_DEBUGINFOD=1. Otherwise we look locally: the build-id tree
 * (/usr/lib/debug/.build-id, what distributions' debug packages use), then
 * the .gnu_debuglink places. Read once in sym_open: libdwfl gives this
 * callback no context of ours. */
static bool debuginfod_allowed;

static int open_debuglink(Dwfl_Module *mod, const char *path, bool verify, char **found)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -1;
	if (verify) {
		/* A debuglink names a file, not a build: refuse another
		 * build's debuginfo rather than name the wrong lines. */
		const unsigned char *want;
		const void *have;
		GElf_Addr vaddr;
		int want_len = dwfl_module_build_id(mod, &want, &vaddr);
		Elf *elf = elf_begin(fd, ELF_C_READ, NULL);
		ssize_t have_len = elf ? dwelf_elf_gnu_build_id(elf, &have) : -1;
		bool ok = want_len <= 0 ||
			  (have_len == want_len && memcmp(have, want, want_len) == 0);
		elf_end(elf);
		if (!ok) {
			close(fd);
			return -1;
		}
	}
	*found = strdup(path);
	return fd;
}

static int find_debuginfo(Dwfl_Module *mod, void **userdata, const char *modname, GElf_Addr base,
			  const char *file_name, const char *debuglink_file,
			  GElf_Word debuglink_crc, char **debuginfo_file_name)
{
	if (debuginfod_allowed)
		return dwfl_standard_find_debuginfo(mod, userdata, modname, base, file_name,
						    debuglink_file, debuglink_crc,
						    debuginfo_file_name);
	int fd = dwfl_build_id_find_debuginfo(mod, userdata, modname, base, file_name,
					      debuglink_file, debuglink_crc, debuginfo_file_name);
	if (fd >= 0 || !debuglink_file || !*debuglink_file)
		return fd;
	/* An absolute name is the dwz alternate file, named as is. */
	if (debuglink_file[0] == '/')
		return open_debuglink(mod, debuglink_file, false, debuginfo_file_name);
	if (!file_name || file_name[0] != '/')
		return -1;
	const char *slash = strrchr(file_name, '/');
	int dirlen = (int)(slash - file_name);
	static const char *const forms[] = {"%.*s/%s", "%.*s/.debug/%s", "/usr/lib/debug%.*s/%s"};
	for (size_t i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
		char path[PATH_MAX];
		int n = snprintf(path, sizeof(path), forms[i], dirlen, file_name, debuglink_file);
		if (n <= 0 || (size_t)n >= sizeof(path) || strcmp(path, file_name) == 0)
			continue;
		fd = open_debuglink(mod, path, true, debuginfo_file_name);
		if (fd >= 0)
			return fd;
	}
	return -1;
}

static int read_file(const char *path, char **buf, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	size_t cap = *buf ? *len : 0, n = 0;
	char *b = *buf;
	for (;;) {
		if (cap - n < 4096) {
			cap = cap ? cap * 2 : 65536;
			char *nb = realloc(b, cap);
			if (!nb) {
				close(fd);
				*buf = b;
				return -ENOMEM;
			}
			b = nb;
		}
		ssize_t r = read(fd, b + n, cap - n - 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			int err = -errno;
			close(fd);
			*buf = b;
			return err;
		}
		if (r == 0)
			break;
		n += r;
	}
	close(fd);
	b[n] = '\0';
	*buf = b;
	*len = n;
	return 0;
}

/* Whether a /proc/self/maps line (without its newline) is a mapping we
 * symbolize and record: executable and backed by a file. Anonymous code (a
 * JIT; valgrind's translations) has nothing to re-symbolize with and changes
 * all the time; of the pseudo files only the vDSO is code worth naming. */
static bool wanted_line(const char *line, size_t len, size_t *path_at)
{
	size_t i = 0;

	/* start-end perms offset dev inode path */
	for (int field = 0; field < 5; field++) {
		while (i < len && line[i] != ' ')
			i++;
		while (i < len && line[i] == ' ')
			i++;
		if (field == 0 && (len - i < 4 || line[i + 2] != 'x'))
			return false;
	}
	*path_at = i;
	if (i >= len)
		return false;
	if (line[i] != '[')
		return true;
	return len - i == 6 && memcmp(line + i, "[vdso]", 6) == 0;
}

/* Keeps only the wanted lines, in place; returns the new length. Data and
 * heap mappings change all the time and do not matter. */
static size_t keep_wanted_lines(char *text, size_t len)
{
	size_t out = 0;

	for (size_t i = 0; i < len;) {
		char *nl = memchr(text + i, '\n', len - i);
		size_t end = nl ? (size_t)(nl - text) + 1 : len, path_at;
		size_t line_len = nl ? end - i - 1 : end - i;
		if (wanted_line(text + i, line_len, &path_at)) {
			memmove(text + out, text + i, end - i);
			out += end - i;
		}
		i = end;
	}
	return out;
}

struct build_id_scan {
	struct sym_mapping *maps;
	size_t nmaps;
	uint8_t *ids; /* nmaps * BUILD_ID_MAX bytes */
};

#define BUILD_ID_MAX 64

static size_t note_build_id(const uint8_t *p, size_t size, uint8_t *out)
{
	while (size >= sizeof(ElfW(Nhdr))) {
		const ElfW(Nhdr) *n = (const void *)p;
		size_t name = (n->n_namesz + 3) & ~(size_t)3, desc = (n->n_descsz + 3) & ~(size_t)3;
		size_t total = sizeof(*n) + name + desc;
		if (total > size)
			break;
		if (n->n_type == NT_GNU_BUILD_ID && n->n_namesz == 4 &&
		    memcmp(p + sizeof(*n), "GNU", 4) == 0 && n->n_descsz > 0 &&
		    n->n_descsz <= BUILD_ID_MAX) {
			memcpy(out, p + sizeof(*n) + name, n->n_descsz);
			return n->n_descsz;
		}
		p += total;
		size -= total;
	}
	return 0;
}

/* The build id from the loaded image's notes rather than the file on disk,
 * which may have been replaced since (a package upgrade under a running
 * service): the id must name what actually ran. dl_iterate_phdr holds the
 * loader's lock, so no object is unmapped while we read its notes. */
static int scan_object(struct dl_phdr_info *info, size_t size, void *arg)
{
	struct build_id_scan *scan = arg;
	uint8_t id[BUILD_ID_MAX];
	size_t id_len = 0;
	uint64_t lo = UINT64_MAX, hi = 0;

	(void)size;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		if (ph->p_type == PT_LOAD) {
			uint64_t a = info->dlpi_addr + ph->p_vaddr;
			if (a < lo)
				lo = a;
			if (a + ph->p_memsz > hi)
				hi = a + ph->p_memsz;
		} else if (ph->p_type == PT_NOTE && !id_len) {
			id_len = note_build_id((const uint8_t *)(info->dlpi_addr + ph->p_vaddr),
					       ph->p_filesz, id);
		}
	}
	if (!id_len)
		return 0;
	for (size_t i = 0; i < scan->nmaps; i++) {
		struct sym_mapping *m = &scan->maps[i];
		if (m->start >= lo && m->start < hi && !m->build_id_len) {
			memcpy(scan->ids + i * BUILD_ID_MAX, id, id_len);
			m->build_id_len = id_len;
		}
	}
	return 0;
}

/* Index (0-based) of an old mapping equal to new one m, or -1. */
static long find_same_mapping(const struct symbolizer *s, const struct sym_mapping *m,
			      const struct mapping_id *id)
{
	size_t lo = 0, hi = s->nmaps;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (s->maps[mid].start < m->start)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < s->nmaps) {
		const struct sym_mapping *o = &s->maps[lo];
		const struct mapping_id *oid = &s->map_ids[lo];
		if (o->start == m->start && o->end == m->end && o->offset == m->offset &&
		    o->path == m->path && oid->inode == id->inode &&
		    oid->dev_major == id->dev_major && oid->dev_minor == id->dev_minor &&
		    o->build_id_len == m->build_id_len &&
		    memcmp(o->build_id, m->build_id, m->build_id_len) == 0)
			return (long)lo;
	}
	return -1;
}

/* Parses the executable lines into a new mapping table, re-reports the modules
 * to libdwfl, and keeps the cache entries whose mapping is unchanged. */
static int rebuild(struct symbolizer *s, char *xlines, size_t len)
{
	size_t cap = 0;

	for (size_t i = 0; i < len; i++)
		cap += xlines[i] == '\n';
	cap += 1;
	struct sym_mapping *maps = calloc(cap, sizeof(*maps));
	struct mapping_id *ids = calloc(cap, sizeof(*ids));
	uint8_t *bids = calloc(cap, BUILD_ID_MAX);
	if (!maps || !ids || !bids) {
		free(maps);
		free(ids);
		free(bids);
		return -ENOMEM;
	}

	size_t n = 0;
	for (char *line = xlines; line < xlines + len;) {
		char *nl = memchr(line, '\n', xlines + len - line);
		if (nl)
			*nl = '\0';
		uint64_t start, end, offset, inode;
		unsigned major, minor;
		size_t path_at;
		if (wanted_line(line, strlen(line), &path_at) &&
		    sscanf(line, "%" SCNx64 "-%" SCNx64 " %*s %" SCNx64 " %x:%x %" SCNu64, &start,
			   &end, &offset, &major, &minor, &inode) == 6) {
			maps[n] =
				(struct sym_mapping){.start = start, .end = end, .offset = offset};
			maps[n].path = sym_intern(&s->strings, line + path_at);
			maps[n].build_id = bids + n * BUILD_ID_MAX;
			ids[n] = (struct mapping_id){inode, major, minor};
			n++;
		}
		if (nl)
			*nl = '\n';
		line = nl ? nl + 1 : xlines + len;
	}

	struct build_id_scan scan = {maps, n, bids};
	dl_iterate_phdr(scan_object, &scan);

	/* libdwfl keeps (with their loaded debug info) the modules reported
	 * again with the same name and bounds, and frees the others. */
	dwfl_report_begin(s->dwfl);
	int rc = dwfl_linux_proc_report(s->dwfl, getpid());
	if (dwfl_report_end(s->dwfl, free_removed_index, NULL) != 0 && rc == 0)
		rc = -EIO;

	/* Mappings the process has not told us a build id for through the
	 * loader (mmap'd by hand) get the one of the file libdwfl found. */
	for (size_t i = 0; i < n; i++) {
		if (maps[i].build_id_len)
			continue;
		Dwfl_Module *mod = dwfl_addrmodule(s->dwfl, maps[i].start);
		const unsigned char *bits;
		GElf_Addr vaddr, bias;
		if (!mod || !dwfl_module_getelf(mod, &bias))
			continue;
		int l = dwfl_module_build_id(mod, &bits, &vaddr);
		if (l > 0 && l <= BUILD_ID_MAX) {
			memcpy(bids + i * BUILD_ID_MAX, bits, l);
			maps[i].build_id_len = l;
		}
	}

	/* Cached frames of unchanged mappings stay, renumbered; the others
	 * go, including negative entries for then unmapped addresses, which
	 * may be mapped now. */
	uint32_t *renum = calloc(s->nmaps + 1, sizeof(*renum));
	if (renum) {
		for (size_t i = 0; i < n; i++) {
			long o = find_same_mapping(s, &maps[i], &ids[i]);
			if (o >= 0)
				renum[o + 1] = i + 1;
		}
		sym_cache_renumber(&s->cache, renum, s->nmaps);
		free(renum);
	} else {
		sym_cache_clear(&s->cache);
	}

	free(s->maps);
	free(s->map_ids);
	free(s->build_ids);
	s->maps = maps;
	s->map_ids = ids;
	s->build_ids = bids;
	s->nmaps = n;
	return rc == 0 ? 0 : rc > 0 ? -rc : -EIO;
}

int sym_refresh(struct symbolizer *s)
{
	char *buf = NULL;
	size_t len = 0;
	int rc = read_file("/proc/self/maps", &buf, &len);

	if (rc < 0) {
		free(buf);
		return rc;
	}
	len = keep_wanted_lines(buf, len);
	if (s->xlines && len == s->xlines_len && memcmp(buf, s->xlines, len) == 0) {
		free(buf);
		return 0;
	}
	rc = rebuild(s, buf, len);
	free(s->xlines);
	s->xlines = buf;
	s->xlines_len = len;
	if (rc < 0) {
		/* Forget what we saw so the next refresh tries again. */
		free(s->xlines);
		s->xlines = NULL;
		return rc;
	}
	return 1;
}

struct symbolizer *sym_open(void)
{
	struct symbolizer *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	const char *opt = getenv("CTRACE_DEBUGINFOD");
	debuginfod_allowed = opt && strcmp(opt, "1") == 0;
	s->callbacks.find_elf = dwfl_linux_proc_find_elf;
	s->callbacks.find_debuginfo = find_debuginfo;
	s->callbacks.debuginfo_path = &s->debuginfo_path;
	s->dwfl = dwfl_begin(&s->callbacks);
	if (!s->dwfl) {
		free(s);
		errno = ENOMEM;
		return NULL;
	}
	int rc = sym_refresh(s);
	if (rc < 0) {
		sym_close(s);
		errno = -rc;
		return NULL;
	}
	return s;
}

void sym_close(struct symbolizer *s)
{
	if (!s)
		return;
	if (s->dwfl) {
		dwfl_getmodules(s->dwfl, free_module_index, NULL, 0);
		dwfl_end(s->dwfl);
	}
	sym_strings_free(&s->strings);
	sym_cache_free(&s->cache);
	free(s->xlines);
	free(s->maps);
	free(s->map_ids);
	free(s->build_ids);
	free(s);
}

size_t sym_mappings(struct symbolizer *s, const struct sym_mapping **out)
{
	*out = s->maps;
	return s->nmaps;
}

static uint32_t mapping_index(const struct symbolizer *s, uint64_t addr)
{
	size_t lo = 0, hi = s->nmaps;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (s->maps[mid].end <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < s->nmaps && s->maps[lo].start <= addr ? (uint32_t)lo + 1 : 0;
}

static const char *die_name(Dwarf_Die *die)
{
	Dwarf_Attribute attr;

	/* _integrate follows DW_AT_abstract_origin and DW_AT_specification:
	 * inlined instances and out-of-line clones carry no name themselves. */
	return dwarf_formstring(dwarf_attr_integrate(die, DW_AT_name, &attr));
}

/* The inline chain at addr from DWARF into f; 0 if the module has no DWARF
 * for addr or it is outside any function. */
static int dwarf_frames(struct symbolizer *s, Dwfl_Module *mod, uint64_t addr, struct sym_frame *f)
{
	Dwarf_Addr bias;
	Dwarf_Die cudie;
	Dwarf_Die *scopes = NULL;

	if (!find_cu(mod, addr, &cudie, &bias))
		return 0;
	/* dwarf_getscopes gives the innermost scope at the address but, past an
	 * inlined instance, follows the abstract origin's lexical nesting;
	 * dwarf_getscopes_die gives the physical nesting, which is the chain
	 * of inlined calls. */
	int n = dwarf_getscopes(&cudie, addr - bias, &scopes);
	if (n <= 0) {
		free(scopes);
		return 0;
	}
	Dwarf_Die inner = scopes[0];
	free(scopes);
	scopes = NULL;
	n = dwarf_getscopes_die(&inner, &scopes);
	if (n <= 0) {
		free(scopes);
		return 0;
	}

	Dwarf_Files *files = NULL;
	size_t nfiles = 0;
	Dwarf_Die cu;
	if (!dwarf_diecu(&inner, &cu, NULL, NULL) || dwarf_getsrcfiles(&cu, &files, &nfiles) != 0)
		files = NULL;

	int nf = 0;
	const char *file = NULL;
	int line = 0;
	Dwarf_Line *lr = dwarf_getsrc_die(&cudie, addr - bias);
	if (lr && (file = dwarf_linesrc(lr, NULL, NULL)) && dwarf_lineno(lr, &line) != 0)
		line = 0;

	for (int i = 0; i < n && nf < SYM_MAX_FRAMES; i++) {
		int tag = dwarf_tag(&scopes[i]);
		if (tag != DW_TAG_inlined_subroutine && tag != DW_TAG_subprogram)
			continue;
		f[nf].function = sym_intern(&s->strings, die_name(&scopes[i]));
		f[nf].file = sym_intern(&s->strings, file);
		f[nf].line = line > 0 ? (uint32_t)line : 0;
		nf++;
		if (tag == DW_TAG_subprogram)
			break;
		/* The call site of this inlined instance is where the next
		 * outer frame is. */
		Dwarf_Attribute a;
		Dwarf_Word fi = 0, ln = 0;
		bool has_file =
			dwarf_formudata(dwarf_attr(&scopes[i], DW_AT_call_file, &a), &fi) == 0;
		bool has_line =
			dwarf_formudata(dwarf_attr(&scopes[i], DW_AT_call_line, &a), &ln) == 0;
		file = has_file && files && fi < nfiles ? dwarf_filesrc(files, fi, NULL, NULL)
							: NULL;
		line = has_line && ln <= INT32_MAX ? (int)ln : 0;
	}
	free(scopes);
	return nf;
}

static int lookup_uncached(struct symbolizer *s, uint64_t addr, uint32_t mapping,
			   struct sym_frame *f)
{
	Dwfl_Module *mod = dwfl_addrmodule(s->dwfl, addr);

	if (!mod)
		return 0;
	/* Never name code with symbols of another build: if the file on disk
	 * is not what is loaded, say nothing. */
	const unsigned char *bits;
	GElf_Addr vaddr, bias;
	if (mapping && s->maps[mapping - 1].build_id_len && dwfl_module_getelf(mod, &bias)) {
		const struct sym_mapping *m = &s->maps[mapping - 1];
		int l = dwfl_module_build_id(mod, &bits, &vaddr);
		if (l > 0 && ((size_t)l != m->build_id_len || memcmp(bits, m->build_id, l) != 0))
			return 0;
	}

	int n = dwarf_frames(s, mod, addr, f);
	if (n > 0)
		return n;
	/* No DWARF here (a stripped library without its debuginfo): the ELF
	 * symbol table (.symtab, else .dynsym) still names exported functions. */
	const char *name = dwfl_module_addrname(mod, addr);
	if (!name)
		return 0;
	const char *file = NULL;
	int line = 0;
	Dwfl_Line *lr = dwfl_module_getsrc(mod, addr);
	if (lr)
		file = dwfl_lineinfo(lr, NULL, &line, NULL, NULL, NULL);
	f[0].function = sym_intern(&s->strings, name);
	f[0].file = sym_intern(&s->strings, file);
	f[0].line = line > 0 ? (uint32_t)line : 0;
	return 1;
}

int sym_lookup(struct symbolizer *s, uint64_t addr, struct sym_frame *out, int max,
	       uint32_t *mapping)
{
	struct sym_frame frames[SYM_MAX_FRAMES];
	const struct sym_frame *f = frames;
	uint32_t m;
	int n;

	if (!addr) {
		if (mapping)
			*mapping = 0;
		return 0;
	}
	const struct sym_cache_entry *e = sym_cache_find(&s->cache, addr);
	if (e) {
		n = e->nframes;
		if (n > 0)
			f = s->cache.frames + e->first;
		m = e->mapping;
	} else {
		m = mapping_index(s, addr);
		n = lookup_uncached(s, addr, m, frames);
		sym_cache_put(&s->cache, addr, frames, n, m);
	}
	if (mapping)
		*mapping = m;
	if (n > max)
		n = max > 0 ? max : 0;
	if (n > 0)
		memcpy(out, f, n * sizeof(*f));
	return n;
}
