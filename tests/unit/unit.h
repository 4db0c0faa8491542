/* SPDX-License-Identifier: MIT */
/* What every unit test's main() ends with: run the suite, report, exit 0 only if all passed. */
#ifndef KVMINI_TESTS_UNIT_UNIT_H
#define KVMINI_TESTS_UNIT_UNIT_H

#include <check.h>
#include <stdlib.h>

static inline int run_suite(Suite *suite)
{
    SRunner *runner = srunner_create(suite);
    int failed;

    srunner_run_all(runner, CK_NORMAL);
    failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

#endif
