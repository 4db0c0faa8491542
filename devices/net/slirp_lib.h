/* SPDX-License-Identifier: MIT */
/*
 * libslirp, loaded when a VM asks for user-mode networking and not before. Linked normally, it
 * brings glib and pcre2 into every kvmini process, and the dynamic loader's work on them was the
 * largest part of kvmini's cold start (make bench): a VM without --net user should not pay it.
 *
 * Each backend keeps its own table (no process-wide state); the loader counts the handles.
 */
#ifndef KVMINI_DEVICES_NET_SLIRP_LIB_H
#define KVMINI_DEVICES_NET_SLIRP_LIB_H

#include <stddef.h>

#include <slirp/libslirp.h>

/* The soname the package depends on (libslirp0). */
#define SLIRP_LIB_SONAME "libslirp.so.0"

struct slirp_lib {
    void *handle;
    __typeof__(slirp_new) *new_instance;
    __typeof__(slirp_cleanup) *cleanup;
    __typeof__(slirp_input) *input;
    __typeof__(slirp_pollfds_fill) *pollfds_fill;
    __typeof__(slirp_pollfds_poll) *pollfds_poll;
    __typeof__(slirp_handle_timer) *handle_timer;
    __typeof__(slirp_add_hostfwd) *add_hostfwd;
};

/*
 * Loads the library and looks up every function. 0, or -ENOENT with one line in err naming the
 * package to install. Must run before the seccomp filters: it opens and maps files.
 */
int slirp_lib_open(struct slirp_lib *lib, char *err, size_t len);

/* Lets go of the handle (glib stays mapped: it cannot be unloaded). */
void slirp_lib_close(struct slirp_lib *lib);

#endif
