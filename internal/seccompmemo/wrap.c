//go:build cgo && seccomp

// The linker redirects libseccomp's filter-building calls here
// (-Wl,--wrap, see memo.go): each call is logged per filter context, then
// forwarded; seccomp_export_bpf asks the Go side (berthSeccompExport) for
// a memoized program first.

#include <pthread.h>
#include <seccomp.h>
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

// A filter's log: every call that shaped it, in order, with its result.
// A call the log cannot describe (seccomp_merge) poisons it: such a filter
// is never memoized.
struct memo_log {
	scmp_filter_ctx ctx;
	unsigned char *buf;
	size_t len, cap;
	int poisoned;
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

// record logs one call: a tag, its fixed arguments, its result and any
// variable-length tail (condition arrays).
static void record(scmp_filter_ctx ctx, uint32_t tag, const uint64_t *args, int nargs,
		   int rc, const void *tail, size_t tail_len)
{
	pthread_mutex_lock(&logs_mu);
	struct memo_log *l = find_locked(ctx);
	if (l) {
		int64_t r = rc;
		append_locked(l, &tag, sizeof(tag));
		append_locked(l, args, sizeof(uint64_t) * nargs);
		append_locked(l, &r, sizeof(r));
		if (tail_len)
			append_locked(l, tail, tail_len);
	}
	pthread_mutex_unlock(&logs_mu);
}

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
	}
	pthread_mutex_unlock(&logs_mu);
	uint64_t a[] = {def_action};
	record(ctx, 1, a, 1, 0, NULL, 0);
	return ctx;
}

int __wrap_seccomp_reset(scmp_filter_ctx ctx, uint32_t def_action)
{
	int rc = __real_seccomp_reset(ctx, def_action);
	pthread_mutex_lock(&logs_mu);
	struct memo_log *l = find_locked(ctx);
	if (l) {
		l->len = 0; /* a reset filter is a new one */
	}
	pthread_mutex_unlock(&logs_mu);
	uint64_t a[] = {def_action};
	record(ctx, 2, a, 1, rc, NULL, 0);
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
	int rc = __real_seccomp_merge(dst, src);
	pthread_mutex_lock(&logs_mu);
	struct memo_log *l = find_locked(dst);
	if (l)
		l->poisoned = 1;
	if (rc == 0)
		drop_locked(src); /* libseccomp released it */
	pthread_mutex_unlock(&logs_mu);
	return rc;
}

int __wrap_seccomp_arch_add(scmp_filter_ctx ctx, uint32_t arch_token)
{
	int rc = __real_seccomp_arch_add(ctx, arch_token);
	uint64_t a[] = {arch_token};
	record(ctx, 3, a, 1, rc, NULL, 0);
	return rc;
}

int __wrap_seccomp_arch_remove(scmp_filter_ctx ctx, uint32_t arch_token)
{
	int rc = __real_seccomp_arch_remove(ctx, arch_token);
	uint64_t a[] = {arch_token};
	record(ctx, 4, a, 1, rc, NULL, 0);
	return rc;
}

int __wrap_seccomp_attr_set(scmp_filter_ctx ctx, enum scmp_filter_attr attr, uint32_t value)
{
	int rc = __real_seccomp_attr_set(ctx, attr, value);
	uint64_t a[] = {(uint64_t)attr, value};
	record(ctx, 5, a, 2, rc, NULL, 0);
	return rc;
}

int __wrap_seccomp_syscall_priority(scmp_filter_ctx ctx, int syscall, uint8_t priority)
{
	int rc = __real_seccomp_syscall_priority(ctx, syscall, priority);
	uint64_t a[] = {(uint64_t)(int64_t)syscall, priority};
	record(ctx, 6, a, 2, rc, NULL, 0);
	return rc;
}

static void record_rule(scmp_filter_ctx ctx, uint32_t tag, uint32_t action, int syscall,
			unsigned int arg_cnt, const struct scmp_arg_cmp *arg_array, int rc)
{
	uint64_t a[] = {action, (uint64_t)(int64_t)syscall, arg_cnt};
	uint64_t conds[4 * 8];
	size_t n = 0;
	if (arg_array) {
		for (unsigned int i = 0; i < arg_cnt && n + 4 <= sizeof(conds) / sizeof(conds[0]); i++) {
			conds[n++] = arg_array[i].arg;
			conds[n++] = arg_array[i].op;
			conds[n++] = arg_array[i].datum_a;
			conds[n++] = arg_array[i].datum_b;
		}
	}
	if (arg_cnt > 8) {
		pthread_mutex_lock(&logs_mu);
		struct memo_log *l = find_locked(ctx);
		if (l)
			l->poisoned = 1;
		pthread_mutex_unlock(&logs_mu);
		return;
	}
	record(ctx, tag, a, 3, rc, conds, n * sizeof(uint64_t));
}

int __wrap_seccomp_rule_add_array(scmp_filter_ctx ctx, uint32_t action, int syscall,
				  unsigned int arg_cnt, const struct scmp_arg_cmp *arg_array)
{
	int rc = __real_seccomp_rule_add_array(ctx, action, syscall, arg_cnt, arg_array);
	record_rule(ctx, 7, action, syscall, arg_cnt, arg_array, rc);
	return rc;
}

int __wrap_seccomp_rule_add_exact_array(scmp_filter_ctx ctx, uint32_t action, int syscall,
					unsigned int arg_cnt, const struct scmp_arg_cmp *arg_array)
{
	int rc = __real_seccomp_rule_add_exact_array(ctx, action, syscall, arg_cnt, arg_array);
	record_rule(ctx, 8, action, syscall, arg_cnt, arg_array, rc);
	return rc;
}

// berth_real_export compiles ctx for real (the Go side's cache miss).
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
	if (!copy)
		return __real_seccomp_export_bpf(ctx, fd);
	int rc = berthSeccompExport((void *)ctx, copy, len, fd);
	free(copy);
	return rc;
}
