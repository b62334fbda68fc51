// SPDX-License-Identifier: GPL-2.0
//
// Moat's kernel event programs. Tracepoints only (kprobes, fentry and BPF LSM are missing on
// many kernels): syscalls/sys_enter_* and sys_exit_* of the traced syscalls, the child side
// of clone/clone3/fork/vfork, and sched_process_exec/exit. Events go to user space through
// one ring buffer; a reservation that fails is counted in `drops`.
//
// Which syscalls are traced, and which of their arguments are paths or socket addresses, is
// written into `specs` by user space (keyed by the architecture's syscall number), so this
// file holds no per-architecture table.
//
// CO-RE: the kernel structures below declare only the members read here and carry
// preserve_access_index, so libbpf-style relocation against the running kernel's BTF fixes
// their offsets at load time.

#include <linux/types.h>
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>

#define PATH_LEN 256
#define ADDR_LEN 128
#define ARGS_LEN 1024
#define CGROUP_LEN 128
#define EXE_NAME_LEN 64
#define NO_ARG 0xff

#define KIND_SYSCALL 1
#define KIND_EXEC 2
#define KIND_FORK 3
#define KIND_EXIT 4

struct kernfs_node {
	const char *name;
} __attribute__((preserve_access_index));

struct cgroup {
	struct kernfs_node *kn;
} __attribute__((preserve_access_index));

struct css_set {
	struct cgroup *dfl_cgrp;
} __attribute__((preserve_access_index));

struct qstr {
	const unsigned char *name;
} __attribute__((preserve_access_index));

struct dentry {
	struct qstr d_name;
} __attribute__((preserve_access_index));

struct path {
	struct dentry *dentry;
} __attribute__((preserve_access_index));

struct file {
	struct path f_path;
} __attribute__((preserve_access_index));

struct mm_struct {
	unsigned long arg_start;
	unsigned long arg_end;
	struct file *exe_file;
} __attribute__((preserve_access_index));

struct task_struct {
	int pid;
	int tgid;
	int exit_code;
	struct task_struct *real_parent;
	struct css_set *cgroups;
	struct mm_struct *mm;
} __attribute__((preserve_access_index));

// The tracepoint records (see /sys/kernel/tracing/events/.../format).
struct sys_enter_ctx {
	__u64 common;
	__s32 nr;
	__u32 pad;
	__u64 args[6];
};

struct sys_exit_ctx {
	__u64 common;
	__s32 nr;
	__u32 pad;
	__s64 ret;
};

struct sched_exec_ctx {
	__u64 common;
	__u32 filename_loc; // __data_loc: offset in the low 16 bits, length in the high 16
	__s32 pid;
	__s32 old_pid;
};

// Shared by every event: the layout user space decodes (`source::ebpf::decode`).
struct header {
	__u32 kind;
	__s32 nr;
	__u64 ts;
	__u32 pid;
	__u32 tid;
	__u32 ppid;
	__u32 uid;
	__u32 gid;
	__u32 pad;
	char comm[16];
};

struct syscall_event {
	struct header h;
	__s64 ret;
	__u64 args[6];
	__s32 path_len[2];
	__u32 addr_len;
	__u32 pad;
	char path[2][PATH_LEN];
	__u8 addr[ADDR_LEN];
};

struct proc_event {
	struct header h;
	__s32 exit_code;
	__s32 filename_len;
	__s32 cgroup_len;
	__u32 args_len;
	char filename[PATH_LEN];
	char cgroup[CGROUP_LEN];
	char args[ARGS_LEN];
	__s32 exe_name_len;
	__u32 pad;
	// The executable's own file name (its dentry): `memfd:NAME` for a memfd, whatever path
	// the exec was given (`/proc/self/fd/3`).
	char exe_name[EXE_NAME_LEN];
};

struct inflight {
	__s32 nr;
	__u32 pad;
	__u64 args[6];
};

// Argument roles of one syscall, packed in a u64 by user space: byte 0 first path argument,
// byte 1 second path argument, byte 2 socket address argument, byte 3 its length argument,
// byte 4 whether the length argument points to the length (accept) rather than being it.
// NO_ARG marks a role the syscall does not have.
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 128);
	__type(key, __s32);
	__type(value, __u64);
} specs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u64);
	__type(value, struct inflight);
} inflight SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 8 * 1024 * 1024);
} events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} drops SEC(".maps");

// Moat's own process: its syscalls (reading /proc, writing alerts) are not traced.
const volatile __u32 moat_tgid = 0;

static __always_inline void count_drop(void)
{
	__u32 zero = 0;
	__u64 *count = bpf_map_lookup_elem(&drops, &zero);
	if (count)
		__sync_fetch_and_add(count, 1);
}

static __always_inline void fill_header(struct header *h, __u32 kind, __s32 nr)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u64 ids = bpf_get_current_uid_gid();
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();

	h->kind = kind;
	h->nr = nr;
	h->ts = bpf_ktime_get_ns();
	h->pid = id >> 32;
	h->tid = (__u32)id;
	h->ppid = BPF_CORE_READ(task, real_parent, tgid);
	h->uid = (__u32)ids;
	h->gid = ids >> 32;
	h->pad = 0;
	bpf_get_current_comm(h->comm, sizeof(h->comm));
}

static __always_inline int is_moat(void)
{
	return (bpf_get_current_pid_tgid() >> 32) == moat_tgid;
}

static __always_inline __u64 arg_at(const struct inflight *in, __u8 index)
{
	if (index >= 6)
		return 0;
	return in->args[index];
}

SEC("tracepoint/syscalls/sys_enter")
int moat_sys_enter(struct sys_enter_ctx *ctx)
{
	if (is_moat())
		return 0;
	__s32 nr = ctx->nr;
	if (!bpf_map_lookup_elem(&specs, &nr))
		return 0;
	struct inflight in = { .nr = nr };
	// Copied with a probe read, not read through ctx: one program serves syscalls of one to
	// six arguments, and the kernel refuses to attach a program whose direct ctx reads reach
	// past the shortest record (sys_enter_listen has two arguments). The bytes past a short
	// record are never used: `specs` names only the arguments each syscall has.
	bpf_probe_read_kernel(in.args, sizeof(in.args), ctx->args);
	__u64 id = bpf_get_current_pid_tgid();
	bpf_map_update_elem(&inflight, &id, &in, BPF_ANY);
	return 0;
}

static __always_inline void read_path(struct syscall_event *e, int slot,
				      const struct inflight *in, __u8 index)
{
	e->path_len[slot] = 0;
	e->path[slot][0] = 0;
	if (index >= 6)
		return;
	const char *user = (const char *)arg_at(in, index);
	if (!user)
		return;
	e->path_len[slot] = bpf_probe_read_user_str(e->path[slot], PATH_LEN, user);
}

static __always_inline void read_addr(struct syscall_event *e, const struct inflight *in,
				      __u64 spec)
{
	__u8 addr_index = (spec >> 16) & 0xff;
	__u8 len_index = (spec >> 24) & 0xff;
	__u8 len_is_pointer = (spec >> 32) & 0xff;
	e->addr_len = 0;
	if (addr_index >= 6 || len_index >= 6)
		return;
	const void *user = (const void *)arg_at(in, addr_index);
	__u64 len = arg_at(in, len_index);
	if (len_is_pointer) {
		__u32 out_len = 0;
		if (!len || bpf_probe_read_user(&out_len, sizeof(out_len), (const void *)len))
			return;
		len = out_len;
	}
	if (!user || !len)
		return;
	if (len >= ADDR_LEN)
		len = ADDR_LEN - 1;
	len &= ADDR_LEN - 1;
	if (bpf_probe_read_user(e->addr, len, user) == 0)
		e->addr_len = len;
}

SEC("tracepoint/syscalls/sys_exit")
int moat_sys_exit(struct sys_exit_ctx *ctx)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct inflight *in = bpf_map_lookup_elem(&inflight, &id);
	if (!in)
		return 0;
	__s32 nr = in->nr;
	__u64 *spec = bpf_map_lookup_elem(&specs, &nr);
	if (!spec) {
		bpf_map_delete_elem(&inflight, &id);
		return 0;
	}
	struct syscall_event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		count_drop();
		bpf_map_delete_elem(&inflight, &id);
		return 0;
	}
	fill_header(&e->h, KIND_SYSCALL, nr);
	e->ret = ctx->ret;
	for (int i = 0; i < 6; i++)
		e->args[i] = in->args[i];
	e->pad = 0;
	read_path(e, 0, in, *spec & 0xff);
	read_path(e, 1, in, (*spec >> 8) & 0xff);
	read_addr(e, in, *spec);
	bpf_map_delete_elem(&inflight, &id);
	bpf_ringbuf_submit(e, 0);
	return 0;
}

static __always_inline void read_cgroup(struct proc_event *e, struct task_struct *task)
{
	const char *name = BPF_CORE_READ(task, cgroups, dfl_cgrp, kn, name);
	e->cgroup[0] = 0;
	e->cgroup_len = 0;
	if (name)
		e->cgroup_len = bpf_probe_read_kernel_str(e->cgroup, CGROUP_LEN, name);
}

static __always_inline struct proc_event *reserve_proc_event(__u32 kind)
{
	struct proc_event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		count_drop();
		return 0;
	}
	fill_header(&e->h, kind, -1);
	e->exit_code = 0;
	e->filename_len = 0;
	e->filename[0] = 0;
	e->cgroup_len = 0;
	e->cgroup[0] = 0;
	e->args_len = 0;
	e->exe_name_len = 0;
	e->pad = 0;
	e->exe_name[0] = 0;
	return e;
}

// The child side of clone/clone3/fork/vfork (the syscall returns 0 there): a new thread
// when its tid differs from its tgid, a new process otherwise.
SEC("tracepoint/syscalls/sys_exit_clone")
int moat_fork_exit(struct sys_exit_ctx *ctx)
{
	if (ctx->ret != 0 || is_moat())
		return 0;
	struct proc_event *e = reserve_proc_event(KIND_FORK);
	if (!e)
		return 0;
	e->h.nr = ctx->nr;
	read_cgroup(e, (struct task_struct *)bpf_get_current_task());
	bpf_ringbuf_submit(e, 0);
	return 0;
}

SEC("tracepoint/sched/sched_process_exec")
int moat_exec(struct sched_exec_ctx *ctx)
{
	if (is_moat())
		return 0;
	struct proc_event *e = reserve_proc_event(KIND_EXEC);
	if (!e)
		return 0;
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	__u32 offset = ctx->filename_loc & 0xffff;
	e->filename_len = bpf_probe_read_kernel_str(e->filename, PATH_LEN, (void *)ctx + offset);
	read_cgroup(e, task);
	const unsigned char *exe_name = BPF_CORE_READ(task, mm, exe_file, f_path.dentry, d_name.name);
	if (exe_name)
		e->exe_name_len = bpf_probe_read_kernel_str(e->exe_name, EXE_NAME_LEN, exe_name);
	unsigned long start = BPF_CORE_READ(task, mm, arg_start);
	unsigned long end = BPF_CORE_READ(task, mm, arg_end);
	if (end > start) {
		__u64 len = end - start;
		if (len >= ARGS_LEN)
			len = ARGS_LEN - 1;
		len &= ARGS_LEN - 1;
		if (bpf_probe_read_user(e->args, len, (const void *)start) == 0)
			e->args_len = len;
	}
	bpf_ringbuf_submit(e, 0);
	return 0;
}

SEC("tracepoint/sched/sched_process_exit")
int moat_exit(void *ctx)
{
	if (is_moat())
		return 0;
	struct proc_event *e = reserve_proc_event(KIND_EXIT);
	if (!e)
		return 0;
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	e->exit_code = BPF_CORE_READ(task, exit_code);
	bpf_ringbuf_submit(e, 0);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
