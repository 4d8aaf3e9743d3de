/*
 * The browser suite's clock jump for Firefox (see src/clock.rs): preloaded,
 * it moves CLOCK_REALTIME and CLOCK_MONOTONIC (and their variants),
 * gettimeofday and time forward by the number of seconds written in the file
 * named by PREFLIGHT_CLOCK_OFFSET_FILE ("+N"), read again at most once a
 * second, in the process started with that variable (not in its children); the functions that wait until an absolute time are given that time
 * moved back, so that a wait computed from a moved clock lasts as long as it
 * asked. It takes no lock and allocates nothing: Firefox's allocator reads
 * the clock inside malloc.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

typedef int (*clock_gettime_fn)(clockid_t, struct timespec *);
typedef int (*cond_timedwait_fn)(pthread_cond_t *, pthread_mutex_t *, const struct timespec *);
typedef int (*cond_clockwait_fn)(pthread_cond_t *, pthread_mutex_t *, clockid_t,
                                 const struct timespec *);
typedef int (*clock_nanosleep_fn)(clockid_t, int, const struct timespec *, struct timespec *);
typedef int (*sem_timedwait_fn)(sem_t *, const struct timespec *);

static clock_gettime_fn real_clock_gettime;
static cond_timedwait_fn real_cond_timedwait;
static cond_clockwait_fn real_cond_clockwait;
static clock_nanosleep_fn real_clock_nanosleep;
static sem_timedwait_fn real_sem_timedwait;

static const char *offset_file;
static char offset_path[4096];
static long offset_seconds;   /* atomic */
static long next_read;        /* atomic: real CLOCK_MONOTONIC seconds */

static int raw_clock(clockid_t clock, struct timespec *ts) {
    clock_gettime_fn f = __atomic_load_n(&real_clock_gettime, __ATOMIC_ACQUIRE);
    if (f) {
        return f(clock, ts);
    }
    return (int)syscall(SYS_clock_gettime, clock, ts);
}

static void read_offset(void) {
    if (!offset_file) {
        return;
    }
    int fd = (int)syscall(SYS_openat, AT_FDCWD, offset_file, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        return;
    }
    char buf[32];
    long n = (long)syscall(SYS_read, fd, buf, sizeof buf - 1);
    syscall(SYS_close, fd);
    if (n <= 0) {
        return;
    }
    long value = 0;
    int digits = 0;
    for (long i = (buf[0] == '+') ? 1 : 0; i < n && buf[i] >= '0' && buf[i] <= '9'; i++) {
        if (value > 100000000000L) {
            return;
        }
        value = value * 10 + (buf[i] - '0');
        digits++;
    }
    if (digits > 0) {
        __atomic_store_n(&offset_seconds, value, __ATOMIC_RELEASE);
    }
}

static long current_offset(void) {
    struct timespec now;
    if (offset_file && raw_clock(CLOCK_MONOTONIC, &now) == 0) {
        long due = __atomic_load_n(&next_read, __ATOMIC_ACQUIRE);
        if (now.tv_sec >= due &&
            __atomic_compare_exchange_n(&next_read, &due, now.tv_sec + 1, 0, __ATOMIC_ACQ_REL,
                                        __ATOMIC_ACQUIRE)) {
            read_offset();
        }
    }
    return __atomic_load_n(&offset_seconds, __ATOMIC_ACQUIRE);
}

static int moved(clockid_t clock) {
    switch (clock) {
    case CLOCK_REALTIME:
    case CLOCK_REALTIME_COARSE:
    case CLOCK_MONOTONIC:
    case CLOCK_MONOTONIC_COARSE:
    case CLOCK_MONOTONIC_RAW:
    case CLOCK_BOOTTIME:
        return 1;
    default:
        return 0;
    }
}

/* An absolute time on a moved clock, as the real clock reads it. */
static struct timespec back(const struct timespec *at) {
    struct timespec t = *at;
    t.tv_sec -= current_offset();
    if (t.tv_sec < 0) {
        t.tv_sec = 0;
    }
    return t;
}

int clock_gettime(clockid_t clock, struct timespec *ts) {
    int r = raw_clock(clock, ts);
    if (r == 0 && moved(clock)) {
        ts->tv_sec += current_offset();
    }
    return r;
}

int gettimeofday(struct timeval *tv, void *tz) {
    struct timespec ts;
    (void)tz;
    if (clock_gettime(CLOCK_REALTIME, &ts) != 0) {
        return -1;
    }
    tv->tv_sec = ts.tv_sec;
    tv->tv_usec = ts.tv_nsec / 1000;
    return 0;
}

time_t time(time_t *out) {
    struct timespec ts;
    if (clock_gettime(CLOCK_REALTIME, &ts) != 0) {
        return (time_t)-1;
    }
    if (out) {
        *out = ts.tv_sec;
    }
    return ts.tv_sec;
}

static void *next(const char *name) {
    return dlsym(RTLD_NEXT, name);
}

int pthread_cond_timedwait(pthread_cond_t *cond, pthread_mutex_t *mutex,
                           const struct timespec *at) {
    if (!real_cond_timedwait) {
        real_cond_timedwait = (cond_timedwait_fn)next("pthread_cond_timedwait");
    }
    struct timespec t = back(at);
    return real_cond_timedwait(cond, mutex, &t);
}

int pthread_cond_clockwait(pthread_cond_t *cond, pthread_mutex_t *mutex, clockid_t clock,
                           const struct timespec *at) {
    if (!real_cond_clockwait) {
        real_cond_clockwait = (cond_clockwait_fn)next("pthread_cond_clockwait");
    }
    struct timespec t = moved(clock) ? back(at) : *at;
    return real_cond_clockwait(cond, mutex, clock, &t);
}

int clock_nanosleep(clockid_t clock, int flags, const struct timespec *at,
                    struct timespec *remain) {
    if (!real_clock_nanosleep) {
        real_clock_nanosleep = (clock_nanosleep_fn)next("clock_nanosleep");
    }
    if ((flags & TIMER_ABSTIME) && moved(clock)) {
        struct timespec t = back(at);
        return real_clock_nanosleep(clock, flags, &t, remain);
    }
    return real_clock_nanosleep(clock, flags, at, remain);
}

int sem_timedwait(sem_t *sem, const struct timespec *at) {
    if (!real_sem_timedwait) {
        real_sem_timedwait = (sem_timedwait_fn)next("sem_timedwait");
    }
    struct timespec t = back(at);
    return real_sem_timedwait(sem, &t);
}

__attribute__((constructor)) static void preflight_clock_shim_init(void) {
    /* The allocator sets itself up (reading the clock) before any dlsym. */
    free(malloc(16));
    real_cond_timedwait = (cond_timedwait_fn)next("pthread_cond_timedwait");
    real_cond_clockwait = (cond_clockwait_fn)next("pthread_cond_clockwait");
    real_clock_nanosleep = (clock_nanosleep_fn)next("clock_nanosleep");
    real_sem_timedwait = (sem_timedwait_fn)next("sem_timedwait");
    /* Only this process moves its clock: the variable is taken out of the
     * environment its children (Firefox's content processes, whose sandbox
     * does not let them read the file) inherit. The preflight cache is in
     * Firefox's parent process. */
    const char *file = getenv("PREFLIGHT_CLOCK_OFFSET_FILE");
    if (file) {
        size_t i = 0;
        for (; file[i] && i < sizeof offset_path - 1; i++) {
            offset_path[i] = file[i];
        }
        offset_path[i] = 0;
        if (!file[i]) {
            offset_file = offset_path;
        }
        unsetenv("PREFLIGHT_CLOCK_OFFSET_FILE");
    }
    read_offset();
    __atomic_store_n(&real_clock_gettime, (clock_gettime_fn)next("clock_gettime"),
                     __ATOMIC_RELEASE);
}
