#ifndef BANDITD_CNATS_SHIM_H
#define BANDITD_CNATS_SHIM_H
// <nats.h> at the top level is deprecated and warns; the real header lives under nats/.
#include <nats/nats.h>
#endif
