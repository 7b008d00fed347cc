//go:build cgo && seccomp

// The linker redirects libseccomp's filter-building calls here
// (-Wl,--wrap, see memo.go): each call is logged per filter context, then
// forwarded, except rules while the memo is on (deferred, see below);
// seccomp_export_bpf asks the Go side (berthSeccompExport) for a memoized
// program first.

#include <errno.h>
#include <pthread.h>
#include <seccomp.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "_cgo_export.h"

scmp_filter_ctx __real_seccomp_init(uint32_t def_action);
int __real_seccomp_reset(scmp_filter_ctx ctx, uint32_t def_action);
void __real_seccomp_release(scmp_filter_ctx ctx);
int __real_seccomp_merge(scmp_filter_ctx dst, scmp_filter_ctx src);
int __real_seccomp_arch_add(scmp_filter_ctx ctx, uint32_t arch_token);
int __real_seccomp_arch_remove(scmp_filter_ctx ctx, uint32_t arch_token);
int __real_seccomp_attr_set(scmp_filter_ctx ctx, enum scmp_filter_attr attr, uint32_t value);
int __real_seccomp_syscall_priority(scmp_filter_ctx ctx, int syscall, uint8_t priority);
int __real_seccomp_rule_add_array(scmp_filter_ctx ctx, uint32_t action, int syscall,
				  unsigned int arg_cnt, const struct scmp_arg_cmp *arg_array);
int __real_seccomp_rule_add_exact_array(scmp_filter_ctx ctx, uint32_t action, int syscall,
					unsigned int arg_cnt, const struct scmp_arg_cmp *arg_array);
int __real_seccomp_export_bpf(const scmp_filter_ctx ctx, int fd);
int __real_seccomp_export_pfc(const scmp_filter_ctx ctx, int fd);
int __real_seccomp_load(const scmp_filter_ctx ctx);

// berth_memo_on is set while the Go side has a memo directory.
int berth_memo_on;

#define MAX_ARGS 8

// A rule added while the memo is on is only logged: libseccomp builds its
// rule database slowly (~3 ms for Docker's profile on two architectures)
// and a memoized export never reads it. Before anything that does (an
// export that misses, seccomp_load, seccomp_export_pfc, seccomp_merge) or
// that could change how a rule lands (any other call that shapes the
// filter) the deferred rules are added for real, in order (flush_locked).
struct deferred_rule {
	int exact;
	uint32_t action;
	int syscall;
	unsigned int arg_cnt;
	struct scmp_arg_cmp args[MAX_ARGS];
};

// A filter's log: every call that shaped it, in order (with its result,
// but for deferred rules, whose failure surfaces at the flush). A filter
// the log cannot describe (merged, or rules beyond MAX_ARGS conditions) is
// poisoned: it is never memoized.
struct memo_log {
	scmp_filter_ctx ctx;
	unsigned char *buf;
	size_t len, cap;
	int poisoned;
	struct deferred_rule *rules;
	size_t nrules, caprules;
	struct memo_log *next;
};

static struct memo_log *logs;
static pthread_mutex_t logs_mu = PTHREAD_MUTEX_INITIALIZER;

static struct memo_log *find_locked(scmp_filter_ctx ctx)
{
	for (struct memo_log *l = logs; l; l = l->next)
		if (l->ctx == ctx)
			return l;
	return NULL;
}

static void drop_locked(scmp_filter_ctx ctx)
{
	for (struct memo_log **p = &logs; *p; p = &(*p)->next) {
		if ((*p)->ctx == ctx) {
			struct memo_log *l = *p;
			*p = l->next;
			free(l->buf);
			free(l->rules);
			free(l);
			return;
		}
	}
}

static void append_locked(struct memo_log *l, const void *data, size_t n)
{
	if (l->poisoned)
		return;
	if (l->len + n > l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 4096;
		while (cap < l->len + n)
			cap *= 2;
		unsigned char *buf = realloc(l->buf, cap);
		if (!buf) {
			l->poisoned = 1;
			return;
		}
		l->buf = buf;
		l->cap = cap;
	}
	memcpy(l->buf + l->len, data, n);
	l->len += n;
}

// flush_locked adds l's deferred rules for real, in order, and returns the
// first failure (0 when all were added).
static int flush_locked(struct memo_log *l)
{
	int first = 0;
	if (!l)
		return 0;
	for (size_t i = 0; i < l->nrules; i++) {
		struct deferred_rule *r = &l->rules[i];
		const struct scmp_arg_cmp *args = r->arg_cnt ? r->args : NULL;
		int rc = r->exact ? __real_seccomp_rule_add_exact_array(l->ctx, r->action, r->syscall, r->arg_cnt, args)
				  : __real_seccomp_rule_add_array(l->ctx, r->action, r->syscall, r->arg_cnt, args);
		if (rc != 0 && first == 0)
			first = rc;
	}
	l->nrules = 0;
	return first;
}

static int flush(scmp_filter_ctx ctx)
{
	pthread_mutex_lock(&logs_mu);
	int rc = flush_locked(find_locked(ctx));
	pthread_mutex_unlock(&logs_mu);
	return rc;
}

// berth_flush is flush for the Go side (an export that missed).
int berth_flush(scmp_filter_ctx ctx)
{
	return flush(ctx);
}

// record_locked logs one call: a tag, its fixed arguments, its result and
// any variable-length tail (condition arrays).
static void record_locked(struct memo_log *l, uint32_t tag, const uint64_t *args, int nargs, int rc,
			  const void *tail, size_t tail_len)
{
	if (!l)
		return;
	int64_t r = rc;
	append_locked(l, &tag, sizeof(tag));
	append_locked(l, args, sizeof(uint64_t) * nargs);
	append_locked(l, &r, sizeof(r));
	if (tail_len)
		append_locked(l, tail, tail_len);
}

// shape runs a call that shapes the filter (after the deferred rules, so
// that it lands as it would have) and logs it.
#define SHAPE(ctx, tag, nargs, call, ...)                                        \
	do {                                                                     \
		uint64_t a_[] = {__VA_ARGS__};                                   \
		pthread_mutex_lock(&logs_mu);                                    \
		struct memo_log *l_ = find_locked(ctx);                          \
		int frc_ = flush_locked(l_);                                     \
		int rc_ = (call);                                                \
		if (frc_ != 0 && l_)                                             \
			l_->poisoned = 1; /* a deferred rule failed */           \
		record_locked(l_, tag, a_, nargs, rc_, NULL, 0);                 \
		pthread_mutex_unlock(&logs_mu);                                  \
		return rc_;                                                      \
	} while (0)

scmp_filter_ctx __wrap_seccomp_init(uint32_t def_action)
{
	scmp_filter_ctx ctx = __real_seccomp_init(def_action);
	if (!ctx)
		return ctx;
	struct memo_log *l = calloc(1, sizeof(*l));
	pthread_mutex_lock(&logs_mu);
	drop_locked(ctx); /* an address libseccomp reused */
	if (l) {
		l->ctx = ctx;
		l->next = logs;
		logs = l;
		uint64_t a[] = {def_action};
		record_locked(l, 1, a, 1, 0, NULL, 0);
	}
	pthread_mutex_unlock(&logs_mu);
	return ctx;
}

int __wrap_seccomp_reset(scmp_filter_ctx ctx, uint32_t def_action)
{
	pthread_mutex_lock(&logs_mu);
	int rc = __real_seccomp_reset(ctx, def_action);
	struct memo_log *l = find_locked(ctx);
	if (l) {
		l->len = 0; /* a reset filter is a new one */
		l->nrules = 0;
		l->poisoned = 0;
		uint64_t a[] = {def_action};
		record_locked(l, 2, a, 1, rc, NULL, 0);
	}
	pthread_mutex_unlock(&logs_mu);
	return rc;
}

void __wrap_seccomp_release(scmp_filter_ctx ctx)
{
	pthread_mutex_lock(&logs_mu);
	drop_locked(ctx);
	pthread_mutex_unlock(&logs_mu);
	__real_seccomp_release(ctx);
}

int __wrap_seccomp_merge(scmp_filter_ctx dst, scmp_filter_ctx src)
{
	pthread_mutex_lock(&logs_mu);
	struct memo_log *ld = find_locked(dst);
	int rc = flush_locked(ld);
	if (rc == 0)
		rc = flush_locked(find_locked(src));
	if (rc == 0)
		rc = __real_seccomp_merge(dst, src);
	if (ld)
		ld->poisoned = 1;
	if (rc == 0)
		drop_locked(src); /* libseccomp released it */
	pthread_mutex_unlock(&logs_mu);
	return rc;
}

int __wrap_seccomp_arch_add(scmp_filter_ctx ctx, uint32_t arch_token)
{
	SHAPE(ctx, 3, 1, __real_seccomp_arch_add(ctx, arch_token), arch_token);
}

int __wrap_seccomp_arch_remove(scmp_filter_ctx ctx, uint32_t arch_token)
{
	SHAPE(ctx, 4, 1, __real_seccomp_arch_remove(ctx, arch_token), arch_token);
}

int __wrap_seccomp_attr_set(scmp_filter_ctx ctx, enum scmp_filter_attr attr, uint32_t value)
{
	SHAPE(ctx, 5, 2, __real_seccomp_attr_set(ctx, attr, value), (uint64_t)attr, value);
}

int __wrap_seccomp_syscall_priority(scmp_filter_ctx ctx, int syscall, uint8_t priority)
{
	SHAPE(ctx, 6, 2, __real_seccomp_syscall_priority(ctx, syscall, priority), (uint64_t)(int64_t)syscall,
	      priority);
}

static int add_rule(scmp_filter_ctx ctx, int exact, uint32_t action, int syscall, unsigned int arg_cnt,
		    const struct scmp_arg_cmp *arg_array)
{
	pthread_mutex_lock(&logs_mu);
	struct memo_log *l = find_locked(ctx);
	if (l && (arg_cnt > MAX_ARGS || (arg_cnt && !arg_array)))
		l->poisoned = 1;
	uint64_t a[] = {exact, action, (uint64_t)(int64_t)syscall, arg_cnt};
	uint64_t conds[4 * MAX_ARGS];
	size_t n = 0;
	for (unsigned int i = 0; l && !l->poisoned && i < arg_cnt; i++) {
		conds[n++] = arg_array[i].arg;
		conds[n++] = arg_array[i].op;
		conds[n++] = arg_array[i].datum_a;
		conds[n++] = arg_array[i].datum_b;
	}
	if (l && !l->poisoned && berth_memo_on) {
		if (l->nrules == l->caprules) {
			size_t cap = l->caprules ? l->caprules * 2 : 512;
			struct deferred_rule *rules = realloc(l->rules, cap * sizeof(*rules));
			if (!rules) {
				int rc = flush_locked(l);
				l->poisoned = 1;
				pthread_mutex_unlock(&logs_mu);
				if (rc != 0)
					return rc;
				return exact ? __real_seccomp_rule_add_exact_array(ctx, action, syscall, arg_cnt, arg_array)
					     : __real_seccomp_rule_add_array(ctx, action, syscall, arg_cnt, arg_array);
			}
			l->rules = rules;
			l->caprules = cap;
		}
		struct deferred_rule *r = &l->rules[l->nrules++];
		memset(r, 0, sizeof(*r));
		r->exact = exact;
		r->action = action;
		r->syscall = syscall;
		r->arg_cnt = arg_cnt;
		if (arg_cnt)
			memcpy(r->args, arg_array, arg_cnt * sizeof(*arg_array));
		record_locked(l, 7, a, 4, 0, conds, n * sizeof(uint64_t));
		pthread_mutex_unlock(&logs_mu);
		return 0;
	}
	int frc = flush_locked(l);
	int rc = exact ? __real_seccomp_rule_add_exact_array(ctx, action, syscall, arg_cnt, arg_array)
		       : __real_seccomp_rule_add_array(ctx, action, syscall, arg_cnt, arg_array);
	if (frc != 0 && l)
		l->poisoned = 1;
	record_locked(l, 8, a, 4, rc, conds, n * sizeof(uint64_t));
	pthread_mutex_unlock(&logs_mu);
	return rc;
}

int __wrap_seccomp_rule_add_array(scmp_filter_ctx ctx, uint32_t action, int syscall, unsigned int arg_cnt,
				  const struct scmp_arg_cmp *arg_array)
{
	return add_rule(ctx, 0, action, syscall, arg_cnt, arg_array);
}

int __wrap_seccomp_rule_add_exact_array(scmp_filter_ctx ctx, uint32_t action, int syscall,
					unsigned int arg_cnt, const struct scmp_arg_cmp *arg_array)
{
	return add_rule(ctx, 1, action, syscall, arg_cnt, arg_array);
}

// The variadic forms, which libseccomp-golang does not use, go through the
// array forms (so they are logged and deferred alike).
static int add_rule_va(scmp_filter_ctx ctx, int exact, uint32_t action, int syscall, unsigned int arg_cnt,
		       va_list ap)
{
	struct scmp_arg_cmp args[MAX_ARGS];
	if (arg_cnt > MAX_ARGS)
		return -EINVAL;
	for (unsigned int i = 0; i < arg_cnt; i++)
		args[i] = va_arg(ap, struct scmp_arg_cmp);
	return add_rule(ctx, exact, action, syscall, arg_cnt, arg_cnt ? args : NULL);
}

int __wrap_seccomp_rule_add(scmp_filter_ctx ctx, uint32_t action, int syscall, unsigned int arg_cnt, ...)
{
	va_list ap;
	va_start(ap, arg_cnt);
	int rc = add_rule_va(ctx, 0, action, syscall, arg_cnt, ap);
	va_end(ap);
	return rc;
}

int __wrap_seccomp_rule_add_exact(scmp_filter_ctx ctx, uint32_t action, int syscall, unsigned int arg_cnt, ...)
{
	va_list ap;
	va_start(ap, arg_cnt);
	int rc = add_rule_va(ctx, 1, action, syscall, arg_cnt, ap);
	va_end(ap);
	return rc;
}

int __wrap_seccomp_load(const scmp_filter_ctx ctx)
{
	int rc = flush(ctx);
	return rc != 0 ? rc : __real_seccomp_load(ctx);
}

int __wrap_seccomp_export_pfc(const scmp_filter_ctx ctx, int fd)
{
	int rc = flush(ctx);
	return rc != 0 ? rc : __real_seccomp_export_pfc(ctx, fd);
}

// berth_real_export compiles ctx for real (the Go side's cache miss, after
// berth_flush).
int berth_real_export(scmp_filter_ctx ctx, int fd)
{
	return __real_seccomp_export_bpf(ctx, fd);
}

int __wrap_seccomp_export_bpf(const scmp_filter_ctx ctx, int fd)
{
	pthread_mutex_lock(&logs_mu);
	struct memo_log *l = find_locked(ctx);
	unsigned char *copy = NULL;
	size_t len = 0;
	if (l && !l->poisoned && l->len > 0) {
		copy = malloc(l->len);
		if (copy) {
			memcpy(copy, l->buf, l->len);
			len = l->len;
		}
	}
	pthread_mutex_unlock(&logs_mu);
	if (!copy) {
		int rc = flush(ctx);
		return rc != 0 ? rc : __real_seccomp_export_bpf(ctx, fd);
	}
	int rc = berthSeccompExport((void *)ctx, copy, len, fd);
	free(copy);
	return rc;
}
