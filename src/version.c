/*
 * The version of the library that runs (issue 13): what the header said
 * when the library was built, for a program built with another header.
 *
 * SPDX-License-Identifier: MIT
 */
#include <cmio.h>

unsigned cmio_version(void) { return CMIO_VERSION_NUMBER; }

const char *cmio_version_string(void) { return CMIO_VERSION_STRING; }
