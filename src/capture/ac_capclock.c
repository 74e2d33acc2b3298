/* The capture clock (CLOCK_MONOTONIC), apart so the capture plugins carry
 * their own copy instead of needing symbols exported by the executable. */
#include <errno.h>
#include <time.h>

#include "capture/ac_capture_backend.h"

int64_t ac_capture_now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

void ac_capture_sleep_until(int64_t t_ns)
{
    struct timespec t = {.tv_sec = t_ns / 1000000000, .tv_nsec = t_ns % 1000000000};
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &t, NULL) == EINTR)
        ;
}
