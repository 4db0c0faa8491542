// SPDX-License-Identifier: MIT
#include "devices/net/slirp_lib.h"

#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

int slirp_lib_open(struct slirp_lib *lib, char *err, size_t len)
{
    const struct {
        const char *name;
        void **slot;
    } syms[] = {
        { "slirp_new", (void **)&lib->new_instance },
        { "slirp_cleanup", (void **)&lib->cleanup },
        { "slirp_input", (void **)&lib->input },
        { "slirp_pollfds_fill", (void **)&lib->pollfds_fill },
        { "slirp_pollfds_poll", (void **)&lib->pollfds_poll },
        { "slirp_handle_timer", (void **)&lib->handle_timer },
        { "slirp_add_hostfwd", (void **)&lib->add_hostfwd },
    };

    memset(lib, 0, sizeof(*lib));
    /* RTLD_NOW: a missing symbol shows now, not as a crash in the middle of a run. */
    lib->handle = dlopen(SLIRP_LIB_SONAME, RTLD_NOW | RTLD_LOCAL);
    if (!lib->handle) {
        snprintf(err, len, "--net user needs libslirp (%s): install it (apt-get install libslirp0)",
                 dlerror());
        return -ENOENT;
    }
    for (size_t i = 0; i < sizeof(syms) / sizeof(syms[0]); i++) {
        *syms[i].slot = dlsym(lib->handle, syms[i].name);
        if (!*syms[i].slot) {
            snprintf(err, len,
                     "--net user: %s has no %s: install libslirp 4.7 or newer (apt-get install "
                     "libslirp0)",
                     SLIRP_LIB_SONAME, syms[i].name);
            slirp_lib_close(lib);
            return -ENOENT;
        }
    }
    return 0;
}

void slirp_lib_close(struct slirp_lib *lib)
{
    if (lib->handle)
        dlclose(lib->handle);
    memset(lib, 0, sizeof(*lib));
}
