// Compiled as C++ with -pedantic -Werror: <cmio.h> stands alone there too.
#include <cmio.h>

int main()
{
    cmio_event e = cmio_event();
    cmio_poll *p = nullptr;
    int err = cmio_poll_new(&p);
    cmio_poll_free(p);
    return (err == 0 && !cmio_event_is_writable(&e) && cmio_event_flags(&e) == 0) ? 0 : 1;
}
