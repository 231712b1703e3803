#ifndef BANDITD_CLIBPQ_SHIM_H
#define BANDITD_CLIBPQ_SHIM_H
#include <libpq-fe.h>

// Swift does not import char-literal macros; re-export the diagnostic field codes we read.
static const int banditd_PG_DIAG_SQLSTATE = PG_DIAG_SQLSTATE;
static const int banditd_PG_DIAG_MESSAGE_PRIMARY = PG_DIAG_MESSAGE_PRIMARY;
static const int banditd_PG_DIAG_MESSAGE_DETAIL = PG_DIAG_MESSAGE_DETAIL;
static const int banditd_PG_DIAG_MESSAGE_HINT = PG_DIAG_MESSAGE_HINT;
static const int banditd_PG_DIAG_SEVERITY_NONLOCALIZED = PG_DIAG_SEVERITY_NONLOCALIZED;
static const int banditd_PG_DIAG_CONSTRAINT_NAME = PG_DIAG_CONSTRAINT_NAME;
#endif
