/* Compiled with -std=c11 -pedantic -Werror: <cmio.h> stands alone. */
#include <cmio.h>

int main(void)
{
    cmio_event e = {.token = 1, .flags = CMIO_EVENT_READABLE};
    cmio_interest i = CMIO_READABLE | CMIO_WRITABLE | CMIO_PRIORITY;
    const char *const *names = cmio_backends();
    return (cmio_event_is_readable(&e) && i == 7 && names[0] != 0 && cmio_events_len(0) == 0) ? 0 : 1;
}
