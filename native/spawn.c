// queuectl's job spawner: `posix_spawn` instead of libuv's `fork()`, whose cost grows with the worker's memory
// (it copies the page tables) while glibc's posix_spawn (clone with CLONE_VM|CLONE_VFORK) costs the same from any
// parent. Each child is watched through a pidfd polled by the worker's own libuv loop, so its exit arrives as an
// ordinary event; it is reaped by its own pid, never waitpid(-1), because Node's child_process reaps its children too.
// Plain N-API (node_api.h), no dependency. Linux only: glibc >= 2.29 for addchdir_np, kernel >= 5.3 for pidfd_open.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <signal.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <node_api.h>
#include <uv.h>

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif

#if defined(__GLIBC__)
#define GLIBC_AT_LEAST(major, minor) __GLIBC_PREREQ(major, minor)
#else
#define GLIBC_AT_LEAST(major, minor) 0
#endif

#if defined(POSIX_SPAWN_SETSID) && GLIBC_AT_LEAST(2, 29)
#define HAVE_NATIVE_SPAWN 1
#else
#define HAVE_NATIVE_SPAWN 0
#endif

#define CHECK(call)                                                                                                    \
  do {                                                                                                                 \
    if ((call) != napi_ok) return throw_last(env, #call);                                                              \
  } while (0)

static napi_value throw_last(napi_env env, const char *what) {
  const napi_extended_error_info *info = NULL;
  napi_get_last_error_info(env, &info);
  bool pending = false;
  napi_is_exception_pending(env, &pending);
  if (!pending) napi_throw_error(env, NULL, info && info->error_message ? info->error_message : what);
  return NULL;
}

/** Throws an Error carrying `code` (the errno's name, as Node's own errors do) and `errno`. */
static napi_value throw_errno(napi_env env, const char *what, int err) {
  char message[512];
  snprintf(message, sizeof message, "%s: %s", what, strerror(err));
  napi_value msg, error, code_value, errno_value;
#if GLIBC_AT_LEAST(2, 32)
  const char *name = strerrorname_np(err);
#else
  const char *name = NULL;
#endif
  napi_create_string_utf8(env, message, NAPI_AUTO_LENGTH, &msg);
  napi_create_error(env, NULL, msg, &error);
  if (name) {
    napi_create_string_utf8(env, name, NAPI_AUTO_LENGTH, &code_value);
    napi_set_named_property(env, error, "code", code_value);
  }
  napi_create_int32(env, -err, &errno_value);
  napi_set_named_property(env, error, "errno", errno_value);
  napi_throw(env, error);
  return NULL;
}

/** One running child: its pidfd polled by the loop, and the JS function told of its exit. */
typedef struct {
  uv_poll_t poll;
  napi_env env;
  napi_ref on_exit;
  napi_async_context context;
  pid_t pid;
  int pidfd;
} watched_child;

static void after_close(uv_handle_t *handle) { free(handle->data); }

/** The pidfd turned readable: the child exited. Reap it, hand (code, signal) to JS, and let go of the handle. */
static void on_pidfd_readable(uv_poll_t *poll, int status, int events) {
  (void)events;
  watched_child *child = (watched_child *)poll->data;
  int wstatus = 0;
  pid_t reaped;
  do reaped = waitpid(child->pid, &wstatus, WNOHANG);
  while (reaped < 0 && errno == EINTR);
  // Readable but not yet reapable cannot happen for a pidfd; keep polling if it somehow does (and status is fine).
  if (reaped == 0 && status == 0) return;
  // Closed before JS hears of the exit, so a caller counting its descriptors never finds the pidfd still open
  // (libuv allows closing a polled fd once the poll is stopped).
  uv_poll_stop(poll);
  close(child->pidfd);

  napi_env env = child->env;
  napi_handle_scope scope;
  napi_open_handle_scope(env, &scope);
  napi_value code, signal, callback, resource, result;
  napi_get_null(env, &code);
  napi_get_null(env, &signal);
  if (reaped == child->pid && WIFEXITED(wstatus)) napi_create_int32(env, WEXITSTATUS(wstatus), &code);
  else if (reaped == child->pid && WIFSIGNALED(wstatus)) napi_create_int32(env, WTERMSIG(wstatus), &signal);
  napi_get_reference_value(env, child->on_exit, &callback);
  napi_create_object(env, &resource);
  napi_value argv[2] = {code, signal};
  // make_callback, not call_function: it runs the microtasks and nextTicks the callback queued, as libuv's own do.
  if (napi_make_callback(env, child->context, resource, callback, 2, argv, &result) == napi_pending_exception) {
    // Nothing of ours is on the stack to catch it: hand it to process 'uncaughtException' as Node's own callbacks do.
    napi_value error;
    if (napi_get_and_clear_last_exception(env, &error) == napi_ok) napi_fatal_exception(env, error);
  }
  napi_close_handle_scope(env, scope);
  napi_async_destroy(env, child->context);
  napi_delete_reference(env, child->on_exit);
  uv_close((uv_handle_t *)poll, after_close);
}

static char *string_arg(napi_env env, napi_value value) {
  size_t length = 0;
  if (napi_get_value_string_utf8(env, value, NULL, 0, &length) != napi_ok) return NULL;
  char *text = malloc(length + 1);
  if (text) napi_get_value_string_utf8(env, value, text, length + 1, &length);
  return text;
}

/** A NULL-terminated copy of a JS array of strings, or NULL (with a JS exception pending) on a bad argument. */
static char **string_array(napi_env env, napi_value array) {
  uint32_t length = 0;
  if (napi_get_array_length(env, array, &length) != napi_ok) return NULL;
  char **items = calloc(length + 1, sizeof(char *));
  for (uint32_t i = 0; items && i < length; i++) {
    napi_value item;
    napi_get_element(env, array, i, &item);
    if (!(items[i] = string_arg(env, item))) {
      for (uint32_t j = 0; j < i; j++) free(items[j]);
      free(items);
      return NULL;
    }
  }
  return items;
}

static void free_array(char **items) {
  if (!items) return;
  for (char **p = items; *p; p++) free(*p);
  free(items);
}

#if HAVE_NATIVE_SPAWN
/** What a child is started with: copies owned by the start, freed with it. */
typedef struct {
  char *file;
  char *cwd;
  char **argv;
  char **envp;
  int out_fd, err_fd;
} start_args;

static void free_start_args(start_args *a) {
  free(a->file);
  free(a->cwd);
  free_array(a->argv);
  free_array(a->envp);
}

/** Reads spawn's first six arguments; false (with a JS exception pending) on a bad one. */
static bool read_start_args(napi_env env, napi_value *args, start_args *a) {
  memset(a, 0, sizeof *a);
  napi_valuetype cwd_type;
  if (napi_typeof(env, args[2], &cwd_type) != napi_ok || napi_get_value_int32(env, args[4], &a->out_fd) != napi_ok ||
      napi_get_value_int32(env, args[5], &a->err_fd) != napi_ok) {
    throw_last(env, "spawn: bad argument");
    return false;
  }
  a->file = string_arg(env, args[0]);
  a->cwd = cwd_type == napi_string ? string_arg(env, args[2]) : NULL;
  a->argv = string_array(env, args[1]);
  a->envp = string_array(env, args[3]);
  if (!a->file || !a->argv || !a->envp || (cwd_type == napi_string && !a->cwd)) {
    free_start_args(a);
    throw_last(env, "spawn: bad argument");
    return false;
  }
  return true;
}

/**
 * Starts the child and opens its pidfd; touches no JS, so it also runs on a threadpool thread. Returns 0, or the
 * errno with `*stage` naming the call that failed (a child whose pidfd cannot be opened is killed and reaped).
 */
static int start_child(const start_args *a, pid_t *pid, int *pidfd, const char **stage) {
  posix_spawnattr_t attr;
  posix_spawn_file_actions_t actions;
  posix_spawnattr_init(&attr);
  posix_spawn_file_actions_init(&actions);
  sigset_t none, all;
  sigemptyset(&none);
  sigfillset(&all);
  sigdelset(&all, SIGKILL);
  sigdelset(&all, SIGSTOP);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  posix_spawnattr_setsigmask(&attr, &none);
  // Node ignores SIGPIPE, and an ignored signal stays ignored across exec: every signal back to its default.
  posix_spawnattr_setsigdefault(&attr, &all);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, a->out_fd, 1);
  posix_spawn_file_actions_adddup2(&actions, a->err_fd, 2);
#if GLIBC_AT_LEAST(2, 34)
  // Node opens its descriptors close-on-exec, but an addon or a library may not: the job gets 0, 1 and 2 only.
  posix_spawn_file_actions_addclosefrom_np(&actions, 3);
#endif
  if (a->cwd) posix_spawn_file_actions_addchdir_np(&actions, a->cwd);

  int err = posix_spawn(pid, a->file, &actions, &attr, a->argv, a->envp);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  if (err != 0) {
    *stage = "posix_spawn";
    return err;
  }
  *pidfd = (int)syscall(SYS_pidfd_open, *pid, 0);
  if (*pidfd < 0) {
    // Without a pidfd the child cannot be watched: end it now rather than leave it running unobserved.
    err = errno;
    kill(-*pid, SIGKILL);
    while (waitpid(*pid, NULL, 0) < 0 && errno == EINTR) {
    }
    *stage = "pidfd_open";
    return err;
  }
  fcntl(*pidfd, F_SETFD, FD_CLOEXEC);  // pidfd_open sets it already; be explicit for the no-leak guarantee
  return 0;
}

/** Polls a started child's pidfd on the loop; `on_exit` (a reference the watch takes over) hears of its exit. */
static void watch_child(napi_env env, pid_t pid, int pidfd, napi_ref on_exit) {
  watched_child *child = calloc(1, sizeof *child);
  uv_loop_t *loop = NULL;
  napi_value resource_name;
  napi_get_uv_event_loop(env, &loop);
  child->env = env;
  child->pid = pid;
  child->pidfd = pidfd;
  child->poll.data = child;
  child->on_exit = on_exit;
  napi_create_string_utf8(env, "queuectl:spawn", NAPI_AUTO_LENGTH, &resource_name);
  napi_async_init(env, NULL, resource_name, &child->context);
  uv_poll_init(loop, &child->poll, pidfd);
  uv_poll_start(&child->poll, UV_READABLE, on_pidfd_readable);
}

/**
 * spawn(file, argv, cwd | null, env, stdoutFd, stderrFd, onExit(code | null, signalNumber | null)) -> pid.
 * The child leads a new session (so its own process group), has every signal at its default and none blocked,
 * stdin on /dev/null, stdout and stderr on the given descriptors and no other descriptor. Throws an Error with the
 * errno's `code` when it cannot start (exec and chdir failures included: glibc reports them from the vfork child).
 * posix_spawn returns only once the child has exec'd: the calling thread waits that long (see spawnAsync).
 */
static napi_value spawn_child(napi_env env, napi_callback_info info) {
  size_t argc = 7;
  napi_value args[7];
  CHECK(napi_get_cb_info(env, info, &argc, args, NULL, NULL));
  if (argc != 7) {
    napi_throw_type_error(env, NULL, "spawn(file, argv, cwd, env, stdoutFd, stderrFd, onExit)");
    return NULL;
  }
  start_args a;
  if (!read_start_args(env, args, &a)) return NULL;
  pid_t pid = 0;
  int pidfd = -1;
  const char *stage = NULL;
  int err = start_child(&a, &pid, &pidfd, &stage);
  napi_value result = NULL;
  if (err != 0) {
    char what[64];
    snprintf(what, sizeof what, "%s %.40s", stage, a.file);
    throw_errno(env, what, err);
  } else {
    napi_ref on_exit;
    napi_create_reference(env, args[6], 1, &on_exit);
    watch_child(env, pid, pidfd, on_exit);
    napi_create_int32(env, pid, &result);
  }
  free_start_args(&a);
  return result;
}

/** A start under way on a libuv threadpool thread (spawnAsync). */
typedef struct {
  napi_async_work work;
  napi_ref on_start;
  napi_ref on_exit;
  start_args args;
  pid_t pid;
  int pidfd;
  int err;
  const char *stage;
} async_start;

static void async_start_execute(napi_env env, void *data) {
  (void)env;
  async_start *start = data;
  start->err = start_child(&start->args, &start->pid, &start->pidfd, &start->stage);
}

/** Back on the loop: the child is watched (when it started), then onStart(error | null, pid | null) is called. */
static void async_start_complete(napi_env env, napi_status status, void *data) {
  async_start *start = data;
  napi_handle_scope scope;
  napi_open_handle_scope(env, &scope);
  napi_value argv[2], callback, resource, resource_name, result;
  napi_get_null(env, &argv[0]);
  napi_get_null(env, &argv[1]);
  if (status == napi_ok && start->err == 0) {
    watch_child(env, start->pid, start->pidfd, start->on_exit);
    napi_create_int32(env, start->pid, &argv[1]);
  } else {
    napi_delete_reference(env, start->on_exit);
    char what[64];
    snprintf(what, sizeof what, "%s %.40s", start->stage ? start->stage : "spawn", start->args.file);
    // The error as spawn throws it, handed to onStart instead.
    throw_errno(env, what, start->err != 0 ? start->err : ECANCELED);
    napi_get_and_clear_last_exception(env, &argv[0]);
  }
  napi_get_reference_value(env, start->on_start, &callback);
  napi_create_object(env, &resource);
  napi_create_string_utf8(env, "queuectl:spawnStart", NAPI_AUTO_LENGTH, &resource_name);
  napi_async_context context;
  napi_async_init(env, NULL, resource_name, &context);
  if (napi_make_callback(env, context, resource, callback, 2, argv, &result) == napi_pending_exception) {
    napi_value error;
    if (napi_get_and_clear_last_exception(env, &error) == napi_ok) napi_fatal_exception(env, error);
  }
  napi_async_destroy(env, context);
  napi_delete_reference(env, start->on_start);
  napi_delete_async_work(env, start->work);
  napi_close_handle_scope(env, scope);
  free_start_args(&start->args);
  free(start);
}

/**
 * spawnAsync(file, argv, cwd | null, env, stdoutFd, stderrFd, onStart(error | null, pid | null), onExit(code, signal)):
 * spawn's child, started on a libuv threadpool thread. posix_spawn holds its calling thread until the child has
 * exec'd (CLONE_VFORK), which on a busy machine is the wait for the child to be scheduled: on the loop's thread that
 * wait stopped every other slot of the worker too. onStart runs on the loop once the child runs (then onExit follows
 * its exit) or could not start. The descriptors must stay open until onStart.
 */
static napi_value spawn_child_async(napi_env env, napi_callback_info info) {
  size_t argc = 8;
  napi_value args[8];
  CHECK(napi_get_cb_info(env, info, &argc, args, NULL, NULL));
  if (argc != 8) {
    napi_throw_type_error(env, NULL, "spawnAsync(file, argv, cwd, env, stdoutFd, stderrFd, onStart, onExit)");
    return NULL;
  }
  async_start *start = calloc(1, sizeof *start);
  if (!start) return throw_errno(env, "spawnAsync", ENOMEM);
  if (!read_start_args(env, args, &start->args)) {
    free(start);
    return NULL;
  }
  start->pidfd = -1;
  napi_value name;
  napi_create_string_utf8(env, "queuectl:spawnAsync", NAPI_AUTO_LENGTH, &name);
  if (napi_create_async_work(env, NULL, name, async_start_execute, async_start_complete, start, &start->work) != napi_ok) {
    free_start_args(&start->args);
    free(start);
    return throw_last(env, "napi_create_async_work");
  }
  napi_create_reference(env, args[6], 1, &start->on_start);
  napi_create_reference(env, args[7], 1, &start->on_exit);
  if (napi_queue_async_work(env, start->work) != napi_ok) {
    napi_delete_reference(env, start->on_start);
    napi_delete_reference(env, start->on_exit);
    napi_delete_async_work(env, start->work);
    free_start_args(&start->args);
    free(start);
    return throw_last(env, "napi_queue_async_work");
  }
  return NULL;
}
#endif

/**
 * groupHasMembers(pgid): whether any process (a zombie too) is left in the group, by signal 0. Node's process.kill
 * answers an empty group by throwing an ErrnoException, which costs a worker more than the rest of this check; a
 * worker asks once per job, after its shell exited.
 */
static napi_value group_has_members(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value arg;
  CHECK(napi_get_cb_info(env, info, &argc, &arg, NULL, NULL));
  int32_t pgid = 0;
  if (argc != 1 || napi_get_value_int32(env, arg, &pgid) != napi_ok || pgid <= 1) {
    napi_throw_type_error(env, NULL, "groupHasMembers(pgid): a process group id above 1");
    return NULL;
  }
  napi_value result;
  napi_get_boolean(env, kill(-pgid, 0) == 0 || errno == EPERM, &result);
  return result;
}

/**
 * punchHole(fd, offset, length): frees the file's blocks in that range, its size and every other byte unchanged, so a
 * capture file read this far stops taking room while its writer appends on (an ftruncate would lose what the writer
 * adds between the last read and the cut). False when the file system cannot (the caller truncates instead).
 */
static napi_value punch_hole(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value args[3];
  CHECK(napi_get_cb_info(env, info, &argc, args, NULL, NULL));
  int32_t fd = -1;
  int64_t offset = -1, length = 0;
  if (argc != 3 || napi_get_value_int32(env, args[0], &fd) != napi_ok || napi_get_value_int64(env, args[1], &offset) != napi_ok ||
      napi_get_value_int64(env, args[2], &length) != napi_ok || fd < 0 || offset < 0 || length <= 0) {
    napi_throw_type_error(env, NULL, "punchHole(fd, offset, length): a descriptor, an offset of 0 or more, a length above 0");
    return NULL;
  }
  int rc;
  do rc = fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)offset, (off_t)length);
  while (rc < 0 && errno == EINTR);
  napi_value result;
  napi_get_boolean(env, rc == 0, &result);
  return result;
}

/** Why this build cannot spawn natively here, or null when it can (checked once, by the JS wrapper, at load). */
static napi_value unavailable_reason(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value reason;
#if HAVE_NATIVE_SPAWN
  int fd = (int)syscall(SYS_pidfd_open, getpid(), 0);
  if (fd >= 0) {
    close(fd);
    napi_get_null(env, &reason);
    return reason;
  }
  char text[128];
  snprintf(text, sizeof text, "pidfd_open is unavailable (Linux >= 5.3 needed): %s", strerror(errno));
  napi_create_string_utf8(env, text, NAPI_AUTO_LENGTH, &reason);
#else
  napi_create_string_utf8(env, "built without posix_spawn's setsid and addchdir_np (glibc >= 2.29 needed)", NAPI_AUTO_LENGTH, &reason);
#endif
  return reason;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor properties[] = {
      {"unavailableReason", NULL, unavailable_reason, NULL, NULL, NULL, napi_default, NULL},
      {"groupHasMembers", NULL, group_has_members, NULL, NULL, NULL, napi_default, NULL},
      {"punchHole", NULL, punch_hole, NULL, NULL, NULL, napi_default, NULL},
#if HAVE_NATIVE_SPAWN
      {"spawn", NULL, spawn_child, NULL, NULL, NULL, napi_default, NULL},
      {"spawnAsync", NULL, spawn_child_async, NULL, NULL, NULL, napi_default, NULL},
#endif
  };
  napi_define_properties(env, exports, sizeof properties / sizeof properties[0], properties);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
