/*  coordinator/spawner.c: see spawner.h. */
#include "spawner.h"
#include "auth.h"
#include "exit_codes.h"
#include "log.h"
#include "util.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

struct spawner_t {
    char *bin;
    char *endpoint;
    char *run_id;
    int count;
    int slots;
    pid_t *pids;
    int restarts_left;
    char *source_dsn;          /* "FERRY_SOURCE_DSN=..." or NULL */
    char *secret;              /* "FERRY_CLUSTER_SECRET=..." or NULL */
    char *target_dsn;
    char *curve_key;           /* "FERRY_CURVE_KEY=..." or NULL */
    char *coordinator_key;     /* "FERRY_COORDINATOR_KEY=..." or NULL */
    char *run_env;             /* "FERRY_RUN_ID=..." */
    bool stopping;             /* spawner_stop sent SIGTERM: a death by it is ours */
};

static bool
s_executable (const char *path)
{
    struct stat st;
    return stat (path, &st) == 0 && S_ISREG (st.st_mode) && access (path, X_OK) == 0;
}

char *
spawner_find_worker (void)
{
    const char *env = getenv ("FERRY_WORKER_BIN");
    if (env && *env) {
        if (s_executable (env))
            return xstrdup (env);
        log_error ("FERRY_WORKER_BIN=%s: not an executable file", env);
        return NULL;
    }
    char self[PATH_MAX];
    ssize_t n = readlink ("/proc/self/exe", self, sizeof self - 1);
    if (n > 0) {
        self[n] = 0;
        char *slash = strrchr (self, '/');
        if (slash) {
            *slash = 0;
            char *p = util_strdupf ("%s/ferry-worker", self);
            if (s_executable (p))
                return p;
            free (p);
            p = util_strdupf ("%s/../worker/ferry-worker", self);
            if (s_executable (p))
                return p;
            free (p);
        }
    }
    const char *path = getenv ("PATH");
    if (path) {
        char *copy = xstrdup (path), *save = NULL;
        for (char *dir = strtok_r (copy, ":", &save); dir; dir = strtok_r (NULL, ":", &save)) {
            char *p = util_strdupf ("%s/ferry-worker", dir);
            if (s_executable (p)) {
                free (copy);
                return p;
            }
            free (p);
        }
        free (copy);
    }
    log_error ("cannot find the ferry-worker executable (next to ferry-coordinator, in "
               "../worker/, or on PATH); set FERRY_WORKER_BIN");
    return NULL;
}

spawner_t *
spawner_new (const char *worker_bin, const char *endpoint, int count, int slots, const char *run_id)
{
    spawner_t *self = xcalloc (1, sizeof *self);
    self->bin = xstrdup (worker_bin);
    self->endpoint = xstrdup (endpoint);
    self->run_id = xstrdup (run_id);
    self->run_env = util_strdupf ("FERRY_RUN_ID=%s", run_id);
    self->count = count;
    self->slots = slots;
    self->pids = xcalloc ((size_t) count, sizeof *self->pids);
    self->restarts_left = count * 3;
    return self;
}

void
spawner_destroy (spawner_t **self_p)
{
    FERRY_ASSERT (self_p);
    if (*self_p) {
        spawner_t *self = *self_p;
        free (self->bin);
        free (self->endpoint);
        free (self->run_id);
        free (self->run_env);
        free (self->pids);
        free (self->source_dsn);
        free (self->target_dsn);
        free (self->curve_key);
        free (self->coordinator_key);
        if (self->secret)
            explicit_bzero (self->secret, strlen (self->secret));
        free (self->secret);
        free (self);
        *self_p = NULL;
    }
}

void
spawner_set_dsns (spawner_t *self, const char *source, const char *target)
{
    free (self->source_dsn);
    free (self->target_dsn);
    self->source_dsn = source ? util_strdupf ("FERRY_SOURCE_DSN=%s", source) : NULL;
    self->target_dsn = target ? util_strdupf ("FERRY_TARGET_DSN=%s", target) : NULL;
}

void
spawner_set_secret (spawner_t *self, const char *secret)
{
    if (self->secret)
        explicit_bzero (self->secret, strlen (self->secret));
    free (self->secret);
    self->secret = secret ? util_strdupf ("%s=%s", AUTH_ENV, secret) : NULL;
}

void
spawner_set_curve (spawner_t *self, const char *key_file, const char *coordinator_file)
{
    free (self->curve_key);
    free (self->coordinator_key);
    self->curve_key = util_strdupf ("FERRY_CURVE_KEY=%s", key_file);
    self->coordinator_key = util_strdupf ("FERRY_COORDINATOR_KEY=%s", coordinator_file);
}

/*  environ with our DSN and secret variables replacing any inherited
    ones. Caller frees the array (not the strings). */
static char **
s_child_env (spawner_t *self)
{
    size_t n = 0;
    while (environ[n])
        n++;
    char **env = xcalloc (n + 7, sizeof *env);
    size_t envlen = strlen (AUTH_ENV);
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if ((self->source_dsn && strncmp (environ[i], "FERRY_SOURCE_DSN=", 17) == 0)
        ||  (self->target_dsn && strncmp (environ[i], "FERRY_TARGET_DSN=", 17) == 0)
        ||  (self->secret && strncmp (environ[i], AUTH_ENV, envlen) == 0
                          && environ[i][envlen] == '=')
        ||  strncmp (environ[i], "FERRY_RUN_ID=", 13) == 0
        ||  (self->curve_key && (strncmp (environ[i], "FERRY_CURVE_KEY=", 16) == 0
                             ||  strncmp (environ[i], "FERRY_COORDINATOR_KEY=", 22) == 0)))
            continue;
        env[k++] = environ[i];
    }
    env[k++] = self->run_env;
    if (self->source_dsn)
        env[k++] = self->source_dsn;
    if (self->target_dsn)
        env[k++] = self->target_dsn;
    if (self->secret)
        env[k++] = self->secret;
    if (self->curve_key) {
        env[k++] = self->curve_key;
        env[k++] = self->coordinator_key;
    }
    env[k] = NULL;
    return env;
}

static int
s_start_one (spawner_t *self, int i)
{
    char name[64], slots[16];
    snprintf (name, sizeof name, "local-%d", i + 1);
    snprintf (slots, sizeof slots, "%d", self->slots);
    char *argv[] = { self->bin, "--coordinator", self->endpoint, "--name", name,
                     "--slots", slots, "--orphan-exit", NULL };
    pid_t pid;
    char **env = s_child_env (self);
    int rc = posix_spawn (&pid, self->bin, NULL, NULL, argv, env);
    free (env);
    if (rc != 0) {
        log_error ("starting %s: %s", self->bin, strerror (rc));
        return -1;
    }
    self->pids[i] = pid;
    log_debug ("started local worker %s (pid %d)", name, (int) pid);
    return 0;
}

int
spawner_start (spawner_t *self)
{
    for (int i = 0; i < self->count; i++)
        if (s_start_one (self, i) != 0)
            return -1;
    log_info ("started %d local worker(s) x %d slot(s) on %s", self->count, self->slots,
              self->endpoint);
    return 0;
}

int
spawner_reap (spawner_t *self, bool respawn)
{
    int running = 0;
    for (int i = 0; i < self->count; i++) {
        if (self->pids[i] <= 0)
            continue;
        int status = 0;
        pid_t r = waitpid (self->pids[i], &status, WNOHANG);
        if (r == 0) {
            running++;
            continue;
        }
        if (r == self->pids[i]) {
            if (WIFSIGNALED (status) && self->stopping && WTERMSIG (status) == SIGTERM)
                /*  Our own SIGTERM, before the worker could handle it (a
                    run that ended before its workers had started). */
                log_debug ("local worker local-%d (pid %d) stopped before it started", i + 1,
                           (int) self->pids[i]);
            else if (WIFSIGNALED (status))
                log_warn ("local worker local-%d (pid %d) killed by signal %d", i + 1,
                          (int) self->pids[i], WTERMSIG (status));
            else if (WEXITSTATUS (status) == EXIT_CODE_RUN_FAILED
                 ||  WEXITSTATUS (status) == EXIT_CODE_RUN_CANCELLED)
                /*  The run's outcome, as STOP told it: not a worker's failure. */
                log_debug ("local worker local-%d (pid %d) left with status %d (the run's "
                           "outcome)", i + 1, (int) self->pids[i], WEXITSTATUS (status));
            else if (WEXITSTATUS (status) != 0)
                log_warn ("local worker local-%d (pid %d) exited with status %d", i + 1,
                          (int) self->pids[i], WEXITSTATUS (status));
            self->pids[i] = 0;
            if (respawn && self->restarts_left > 0) {
                self->restarts_left--;
                if (s_start_one (self, i) == 0) {
                    log_info ("restarted local worker local-%d", i + 1);
                    running++;
                }
            }
        }
    }
    return running;
}

void
spawner_stop (spawner_t *self, int wait_ms)
{
    self->stopping = true;
    for (int i = 0; i < self->count; i++)
        if (self->pids[i] > 0)
            kill (self->pids[i], SIGTERM);
    int64_t deadline = util_now_ms () + wait_ms;
    while (spawner_reap (self, false) > 0 && util_now_ms () < deadline)
        usleep (2000);
    for (int i = 0; i < self->count; i++)
        if (self->pids[i] > 0) {
            log_warn ("local worker local-%d (pid %d) did not stop; killing it", i + 1,
                      (int) self->pids[i]);
            kill (self->pids[i], SIGKILL);
            waitpid (self->pids[i], NULL, 0);
            self->pids[i] = 0;
        }
}
