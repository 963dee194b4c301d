/* ct_logf's formatter: the conversions log messages use, written straight
 * into the caller's buffer, with vsnprintf's output for them. glibc's
 * vsnprintf takes 120 ns for two %s here and 330 ns with a %.1f (its
 * stream set-up and locale lookups), more than the log event itself; the
 * demo service's two logs a request made formatting 0.9% of its CPU. Any
 * other conversion (widths, flags, long double, %n, ...) returns
 * LOGFMT_UNSUPPORTED before anything is consumed that the caller cannot
 * replay: it keeps a va_copy for vsnprintf. */
#include "record/logfmt.h"

#include <stdint.h>
#include <string.h>

struct out {
	char *p, *end; /* end: the last byte kept for the NUL */
	size_t n;      /* bytes the full output has */
};

static void put(struct out *o, const char *s, size_t n)
{
	size_t room = (size_t)(o->end - o->p);
	size_t k = n < room ? n : room;
	memcpy(o->p, s, k);
	o->p += k;
	o->n += n;
}

/* Digits of v in base 10 or 16 into the end of a buffer; returns the
 * first. (Constant divisors: a division by a variable base was most of a
 * number's cost.) */
static char *digits(uint64_t v, unsigned base, int upper, char *end)
{
	char *p = end;
	if (base == 10) {
		do {
			*--p = (char)('0' + v % 10);
			v /= 10;
		} while (v);
	} else {
		const char *d = upper ? "0123456789ABCDEF" : "0123456789abcdef";
		do {
			*--p = d[v & 15];
			v >>= 4;
		} while (v);
	}
	return p;
}

static void put_u(struct out *o, uint64_t v, unsigned base, int upper)
{
	char tmp[24];
	char *s = digits(v, base, upper, tmp + sizeof tmp);
	put(o, s, (size_t)(tmp + sizeof tmp - s));
}

static void put_i(struct out *o, int64_t v)
{
	if (v < 0) {
		put(o, "-", 1);
		put_u(o, (uint64_t)0 - (uint64_t)v, 10, 0);
	} else {
		put_u(o, (uint64_t)v, 10, 0);
	}
}

static const uint64_t pow10s[10] = {1,	    10,	     100,      1000,	  10000,
				    100000, 1000000, 10000000, 100000000, 1000000000};

/* Whether floating point rounds to nearest, as glibc's printf asks it
 * (fegetround, which would need libm: the x87 control word). */
static int round_to_nearest(void)
{
#if defined(__x86_64__) || defined(__i386__)
	unsigned short cw;
	__asm__ volatile("fnstcw %0" : "=m"(cw));
	return (cw & 0xc00) == 0;
#else
	return 0; /* vsnprintf knows */
#endif
}

/* %.<prec>f of x, exactly as printf rounds it (to nearest, ties to even, on
 * the double's exact binary value), for prec <= 9 and |x| * 10^prec below
 * 2^63; 0 otherwise. x = m * 2^e exactly (its bits), so x * 10^prec is
 * m * 10^prec (below 2^83) shifted by e: 128-bit integers hold it. */
static int put_f(struct out *o, double x, unsigned prec)
{
	uint64_t bits;
	memcpy(&bits, &x, sizeof bits);
	unsigned bexp = (unsigned)(bits >> 52) & 0x7ff;
	uint64_t m = bits & ((1ull << 52) - 1);
	int neg = (int)(bits >> 63);
	if (bexp == 0x7ff)
		return 0; /* infinite or NaN */
	int e;
	if (bexp == 0) {
		e = -1074; /* subnormal (or zero) */
	} else {
		m |= 1ull << 52;
		e = (int)bexp - 1075;
	}
	unsigned __int128 prod = (unsigned __int128)m * pow10s[prec], q;
	if (e >= 0) {
		if (e > 40)
			return 0; /* at least 2^92 */
		q = prod << e;
	} else if (-e >= 128) {
		q = 0; /* prod < 2^83: below half of 2^-e */
	} else {
		int s = -e;
		unsigned __int128 one = (unsigned __int128)1 << s;
		unsigned __int128 rem = prod & (one - 1), half = one >> 1;
		q = prod >> s;
		if (rem > half || (rem == half && (q & 1)))
			q++;
	}
	if (q >> 63)
		return 0;
	uint64_t v = (uint64_t)q;
	if (neg)
		put(o, "-", 1);
	put_u(o, v / pow10s[prec], 10, 0);
	if (prec) {
		char tmp[12];
		char *end = tmp + sizeof tmp, *s = digits(v % pow10s[prec], 10, 0, end);
		while ((size_t)(end - s) < prec)
			*--s = '0';
		put(o, ".", 1);
		put(o, s, prec);
	}
	return 1;
}

int logfmt(char *buf, size_t cap, const char *fmt, va_list ap)
{
	if (cap == 0)
		return LOGFMT_UNSUPPORTED;
	struct out o = {buf, buf + cap - 1, 0};
	const char *f = fmt;
	while (*f) {
		const char *pct = strchr(f, '%');
		if (!pct) {
			put(&o, f, strlen(f));
			break;
		}
		put(&o, f, (size_t)(pct - f));
		f = pct + 1;
		int prec = -1;
		if (*f == '.') {
			f++;
			if (*f == '*') {
				prec = va_arg(ap, int);
				if (prec < 0) /* as if there were none */
					prec = -1;
				f++;
			} else {
				if (*f < '0' || *f > '9')
					return LOGFMT_UNSUPPORTED;
				prec = 0;
				while (*f >= '0' && *f <= '9') {
					if (prec > 100000)
						return LOGFMT_UNSUPPORTED;
					prec = prec * 10 + (*f++ - '0');
				}
			}
		}
		int len = 0; /* 0 int, 1 long, 2 long long, 3 size_t, 4 intmax_t, 5 ptrdiff_t */
		if (*f == 'l') {
			len = 1;
			if (*++f == 'l') {
				len = 2;
				f++;
			}
		} else if (*f == 'z') {
			len = 3;
			f++;
		} else if (*f == 'j') {
			len = 4;
			f++;
		} else if (*f == 't') {
			len = 5;
			f++;
		}
		char c = *f++;
		switch (c) {
		case '%':
			if (prec >= 0 || len)
				return LOGFMT_UNSUPPORTED;
			put(&o, "%", 1);
			break;
		case 'd':
		case 'i': {
			if (prec >= 0)
				return LOGFMT_UNSUPPORTED;
			int64_t v = len == 0   ? va_arg(ap, int)
				    : len == 1 ? va_arg(ap, long)
				    : len == 2 ? va_arg(ap, long long)
				    : len == 3 ? (int64_t)va_arg(ap, size_t)
				    : len == 4 ? (int64_t)va_arg(ap, intmax_t)
					       : (int64_t)va_arg(ap, ptrdiff_t);
			put_i(&o, v);
			break;
		}
		case 'u':
		case 'x':
		case 'X': {
			if (prec >= 0)
				return LOGFMT_UNSUPPORTED;
			uint64_t v = len == 0	? va_arg(ap, unsigned)
				     : len == 1 ? va_arg(ap, unsigned long)
				     : len == 2 ? va_arg(ap, unsigned long long)
				     : len == 3 ? va_arg(ap, size_t)
				     : len == 4 ? (uint64_t)va_arg(ap, uintmax_t)
						: (uint64_t)va_arg(ap, ptrdiff_t);
			put_u(&o, v, c == 'u' ? 10 : 16, c == 'X');
			break;
		}
		case 's': {
			if (len)
				return LOGFMT_UNSUPPORTED;
			const char *s = va_arg(ap, const char *);
			if (!s) /* glibc's "(null)", cut or not by a precision */
				return LOGFMT_UNSUPPORTED;
			put(&o, s, prec >= 0 ? strnlen(s, (size_t)prec) : strlen(s));
			break;
		}
		case 'c': {
			if (len || prec >= 0)
				return LOGFMT_UNSUPPORTED;
			char ch = (char)va_arg(ap, int);
			put(&o, &ch, 1);
			break;
		}
		case 'p': {
			if (len || prec >= 0)
				return LOGFMT_UNSUPPORTED;
			void *v = va_arg(ap, void *);
			if (!v) {
				put(&o, "(nil)", 5);
			} else {
				put(&o, "0x", 2);
				put_u(&o, (uint64_t)(uintptr_t)v, 16, 0);
			}
			break;
		}
		case 'f':
		case 'F': {
			if (len > 1 || prec > 9 || !round_to_nearest())
				return LOGFMT_UNSUPPORTED;
			if (!put_f(&o, va_arg(ap, double), prec < 0 ? 6 : (unsigned)prec))
				return LOGFMT_UNSUPPORTED;
			break;
		}
		default:
			return LOGFMT_UNSUPPORTED;
		}
	}
	*o.p = 0;
	return o.n > (size_t)INT32_MAX ? INT32_MAX : (int)o.n;
}
