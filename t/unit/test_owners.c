/*  test_owners -- locks held across a restore (checkpoint/owners.h).

    A thread's former ids: a lock whose owner is one of them is claimed
    with the thread's id now; one that is another live thread's id now
    is left to it; an id that was never the thread's is left alone.
    Then glibc's own view: an error-checking mutex "held" by a former id
    unlocks once claimed, and fails with EPERM without the claim; a
    rwlock "written" by a former id is released as a writer (a reader's
    unlock would leave it written). */
#include "owners.h"
#include "tap.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static int gettid_ (void)
{
    return (int) syscall (SYS_gettid);
}

static atomic_int other_tid, other_go;

static void *other (void *arg)
{
    (void) arg;
    atomic_store (&other_tid, gettid_ ());
    while (!atomic_load (&other_go))
        nanosleep (&(struct timespec){ 0, 1000000 }, NULL);
    return NULL;
}

/* An id no thread of this process has now (nor, in all likelihood, any
   process: near the kernel's largest). */
#define GONE_ID 4194000

int main (void)
{
    owners_init ();
    int me = gettid_ ();
    CHECK (!owners_moved ());

    /* not moved yet: nothing is claimed */
    int owner = GONE_ID;
    owners_claim (&owner);
    CHECK_EQ (owner, GONE_ID);

    owners_former (GONE_ID);
    owners_former (GONE_ID); /* once only */
    owners_former (me);      /* its own id now is no former one */
    CHECK (owners_moved ());
    owners_claim (&owner);
    CHECK_EQ (owner, me);
    owner = GONE_ID - 1; /* never this thread's */
    owners_claim (&owner);
    CHECK_EQ (owner, GONE_ID - 1);
    owner = 0; /* no owner */
    owners_claim (&owner);
    CHECK_EQ (owner, 0);

    /* a former id that another live thread has now is that thread's */
    pthread_t t;
    CHECK_EQ (pthread_create (&t, NULL, other, NULL), 0);
    while (!atomic_load (&other_tid))
        nanosleep (&(struct timespec){ 0, 1000000 }, NULL);
    int o = atomic_load (&other_tid);
    owners_former (o);
    owner = o;
    owners_claim (&owner);
    CHECK_EQ (owner, o);
    atomic_store (&other_go, 1);
    pthread_join (t, NULL);

    /* the latest 16 former ids are kept: the first ones go */
    for (int k = 1; k <= 16; k++)
        owners_former (GONE_ID - 100 - k);
    owner = GONE_ID;
    owners_claim (&owner);
    CHECK_EQ (owner, GONE_ID);
    owner = GONE_ID - 116;
    owners_claim (&owner);
    CHECK_EQ (owner, me);

    /* glibc's checks: an error-checking mutex held under a former id */
    pthread_mutexattr_t a;
    pthread_mutexattr_init (&a);
    pthread_mutexattr_settype (&a, PTHREAD_MUTEX_ERRORCHECK);
    pthread_mutex_t m;
    pthread_mutex_init (&m, &a);
    CHECK_EQ (pthread_mutex_lock (&m), 0);
    m.__data.__owner = GONE_ID - 101; /* as a restore leaves it */
    CHECK_EQ (pthread_mutex_unlock (&m), EPERM);
    owners_claim (&m.__data.__owner);
    CHECK_EQ (pthread_mutex_unlock (&m), 0);
    CHECK_EQ (pthread_mutex_trylock (&m), 0);
    CHECK_EQ (pthread_mutex_unlock (&m), 0);

    /* a rwlock written under a former id, released as a writer */
    pthread_rwlock_t rw = PTHREAD_RWLOCK_INITIALIZER;
    CHECK_EQ (pthread_rwlock_wrlock (&rw), 0);
    rw.__data.__cur_writer = GONE_ID - 102;
    owners_claim (&rw.__data.__cur_writer);
    CHECK_EQ (pthread_rwlock_unlock (&rw), 0);
    CHECK_EQ (pthread_rwlock_tryrdlock (&rw), 0); /* not left written */
    CHECK_EQ (pthread_rwlock_unlock (&rw), 0);
    CHECK_EQ (pthread_rwlock_trywrlock (&rw), 0);
    CHECK_EQ (pthread_rwlock_unlock (&rw), 0);
    return tap_done ("test_owners");
}
