/* Compiled with -std=c11 -pedantic -Werror: <cmio.h> stands alone. */
#include <cmio.h>
#include <string.h>

int main(void)
{
    cmio_event e;
    memset(&e, 0, sizeof(e)); /* the OS's record: an empty one says nothing */
    cmio_interest i = CMIO_READABLE | CMIO_WRITABLE | CMIO_PRIORITY;
    const char *const *names = cmio_backends();
    return (!cmio_event_is_readable(&e) && cmio_event_flags(&e) == 0 && i == 7 && names[0] != 0 && cmio_events_len(0) == 0) ? 0 : 1;
}
