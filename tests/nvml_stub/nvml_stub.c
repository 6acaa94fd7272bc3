/*
 * A stand-in for libnvidia-ml.so.1, used by tests/nvml.rs so that nvml-wrapper's real
 * dynamic loading (dlopen + dlsym) runs without a GPU.
 *
 * It implements the NVML entry points the `nvml` backend calls, with the ABI of
 * nvml-wrapper-sys 0.10 (NVML 12.x headers). Its answers come from a scenario file named
 * `scenario` in the directory the library was loaded from: each test copies the library into
 * its own temporary directory, so tests run in parallel, each with its own library instance.
 *
 * Scenario lines are `key=value`; `#` starts a comment. Global keys: init, driver, cuda, count.
 * Per-GPU keys are prefixed `gpuN.`: handle, name, uuid, temp, power_mw, util, mem_util,
 * mem_total, mem_used, ecc_dbe, pending, remap_pending, remap_failure, throttle, events,
 * register, xid (a comma-separated list of queued XID events); `wait_lost=N` makes GPU N fall
 * off the bus once the queued events are delivered. A value `!N` makes the call
 * return NVML error code N (3 not supported, 15 GPU lost...). Missing keys are healthy values.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef int nvmlReturn_t;
enum {
    OK = 0,
    ERR_UNINITIALIZED = 1,
    ERR_INVALID_ARGUMENT = 2,
    ERR_NOT_SUPPORTED = 3,
    ERR_NOT_FOUND = 6,
    ERR_INSUFFICIENT_SIZE = 7,
    ERR_TIMEOUT = 10,
};

#define MAX_GPUS 16
#define MAX_ENTRIES 256
#define MAX_EVENTS 64
#define XID_CRITICAL_ERROR 8ULL

typedef struct {
    int index;
} device;
typedef device *nvmlDevice_t;

typedef struct {
    unsigned int version;
    unsigned long long total, reserved, free, used;
} nvmlMemory_v2_t;

typedef struct {
    unsigned int gpu, memory;
} nvmlUtilization_t;

typedef union {
    double dVal;
    int siVal;
    unsigned int uiVal;
    unsigned long ulVal;
    unsigned long long ullVal;
    long long sllVal;
    unsigned short usVal;
} nvmlValue_t;

typedef struct {
    unsigned int fieldId;
    unsigned int scopeId;
    long long timestamp;
    long long latencyUsec;
    int valueType;
    nvmlReturn_t nvmlReturn;
    nvmlValue_t value;
} nvmlFieldValue_t;

typedef struct {
    nvmlDevice_t device;
    unsigned long long eventType;
    unsigned long long eventData;
    unsigned int gpuInstanceId;
    unsigned int computeInstanceId;
} nvmlEventData_t;

typedef struct {
    unsigned long long registered[MAX_GPUS];
} event_set;
typedef event_set *nvmlEventSet_t;

static char keys[MAX_ENTRIES][64];
static char values[MAX_ENTRIES][256];
static int entries;
static int initialised;
static device devices[MAX_GPUS];
static int event_gpu[MAX_EVENTS];
static unsigned long long event_xid[MAX_EVENTS];
static int events_queued, events_delivered;
static int lost_gpu = -1; /* set by `wait_lost=N`: the GPU that falls off the bus while waiting */

static const char *lookup(const char *key) {
    for (int i = 0; i < entries; i++)
        if (strcmp(keys[i], key) == 0) return values[i];
    return NULL;
}

static const char *gpu_lookup(int gpu, const char *key) {
    char full[64];
    snprintf(full, sizeof full, "gpu%d.%s", gpu, key);
    return lookup(full);
}

/* Parses a number, or returns the error code of a `!N` value. */
static nvmlReturn_t number(const char *v, unsigned long long def, unsigned long long *out) {
    if (v == NULL) {
        *out = def;
        return OK;
    }
    if (v[0] == '!') return atoi(v + 1);
    *out = strtoull(v, NULL, 10);
    return OK;
}

static nvmlReturn_t gpu_number(nvmlDevice_t d, const char *key, unsigned long long def, unsigned long long *out) {
    if (!initialised) return ERR_UNINITIALIZED;
    if (d == NULL || d < devices || d >= devices + MAX_GPUS) return ERR_INVALID_ARGUMENT;
    if (d->index == lost_gpu) return 15; /* NVML_ERROR_GPU_IS_LOST */
    return number(gpu_lookup(d->index, key), def, out);
}

static nvmlReturn_t copy_string(const char *v, const char *def, char *buf, unsigned int len) {
    if (v == NULL) v = def;
    if (v[0] == '!') return atoi(v + 1);
    if (strlen(v) + 1 > len) return ERR_INSUFFICIENT_SIZE;
    strcpy(buf, v);
    return OK;
}

static void load_scenario(void) {
    Dl_info info;
    char path[4096];
    entries = 0;
    events_queued = events_delivered = 0;
    lost_gpu = -1;
    if (dladdr((void *)load_scenario, &info) == 0 || info.dli_fname == NULL) return;
    snprintf(path, sizeof path, "%s", info.dli_fname);
    char *slash = strrchr(path, '/');
    if (slash == NULL) return;
    snprintf(slash + 1, sizeof path - (size_t)(slash + 1 - path), "scenario");
    FILE *f = fopen(path, "r");
    if (f == NULL) return;
    char line[400];
    while (fgets(line, sizeof line, f) && entries < MAX_ENTRIES) {
        line[strcspn(line, "\r\n")] = 0;
        if (line[0] == '#' || line[0] == 0) continue;
        char *eq = strchr(line, '=');
        if (eq == NULL) continue;
        *eq = 0;
        snprintf(keys[entries], sizeof keys[0], "%s", line);
        snprintf(values[entries], sizeof values[0], "%s", eq + 1);
        entries++;
    }
    fclose(f);
    for (int i = 0; i < MAX_GPUS; i++) {
        devices[i].index = i;
        const char *x = gpu_lookup(i, "xid");
        while (x != NULL && *x && events_queued < MAX_EVENTS) {
            event_gpu[events_queued] = i;
            event_xid[events_queued++] = strtoull(x, NULL, 10);
            x = strchr(x, ',');
            if (x) x++;
        }
    }
}

nvmlReturn_t nvmlInit_v2(void) {
    load_scenario();
    unsigned long long ignored;
    nvmlReturn_t rc = number(lookup("init"), 0, &ignored);
    if (rc != OK) return rc;
    initialised = 1;
    return OK;
}

nvmlReturn_t nvmlInitWithFlags(unsigned int flags) {
    (void)flags;
    return nvmlInit_v2();
}

nvmlReturn_t nvmlShutdown(void) {
    if (!initialised) return ERR_UNINITIALIZED;
    initialised = 0;
    return OK;
}

nvmlReturn_t nvmlSystemGetDriverVersion(char *version, unsigned int length) {
    if (!initialised) return ERR_UNINITIALIZED;
    return copy_string(lookup("driver"), "550.54.15", version, length);
}

nvmlReturn_t nvmlSystemGetCudaDriverVersion_v2(int *version) {
    unsigned long long v;
    if (!initialised) return ERR_UNINITIALIZED;
    nvmlReturn_t rc = number(lookup("cuda"), 12040, &v);
    if (rc == OK) *version = (int)v;
    return rc;
}

nvmlReturn_t nvmlDeviceGetCount_v2(unsigned int *count) {
    unsigned long long v;
    if (!initialised) return ERR_UNINITIALIZED;
    nvmlReturn_t rc = number(lookup("count"), 1, &v);
    if (rc == OK) *count = (unsigned int)(v > MAX_GPUS ? MAX_GPUS : v);
    return rc;
}

nvmlReturn_t nvmlDeviceGetHandleByIndex_v2(unsigned int index, nvmlDevice_t *out) {
    unsigned long long count, ignored;
    if (!initialised) return ERR_UNINITIALIZED;
    nvmlReturn_t rc = number(lookup("count"), 1, &count);
    if (rc != OK) return rc;
    if (index >= count || index >= MAX_GPUS) return ERR_INVALID_ARGUMENT;
    rc = number(gpu_lookup((int)index, "handle"), 0, &ignored);
    if (rc != OK) return rc;
    *out = &devices[index];
    return OK;
}

nvmlReturn_t nvmlDeviceGetName(nvmlDevice_t d, char *name, unsigned int length) {
    unsigned long long ignored;
    nvmlReturn_t rc = gpu_number(d, "handle", 0, &ignored);
    if (rc != OK) return rc;
    return copy_string(gpu_lookup(d->index, "name"), "NVIDIA Stub GPU", name, length);
}

nvmlReturn_t nvmlDeviceGetUUID(nvmlDevice_t d, char *uuid, unsigned int length) {
    unsigned long long ignored;
    char def[64];
    nvmlReturn_t rc = gpu_number(d, "handle", 0, &ignored);
    if (rc != OK) return rc;
    snprintf(def, sizeof def, "GPU-00000000-0000-0000-0000-00000000000%d", d->index);
    return copy_string(gpu_lookup(d->index, "uuid"), def, uuid, length);
}

nvmlReturn_t nvmlDeviceGetTemperature(nvmlDevice_t d, int sensor, unsigned int *temp) {
    unsigned long long v;
    if (sensor != 0) return ERR_INVALID_ARGUMENT;
    nvmlReturn_t rc = gpu_number(d, "temp", 40, &v);
    if (rc == OK) *temp = (unsigned int)v;
    return rc;
}

nvmlReturn_t nvmlDeviceGetPowerUsage(nvmlDevice_t d, unsigned int *milliwatts) {
    unsigned long long v;
    nvmlReturn_t rc = gpu_number(d, "power_mw", 100000, &v);
    if (rc == OK) *milliwatts = (unsigned int)v;
    return rc;
}

nvmlReturn_t nvmlDeviceGetUtilizationRates(nvmlDevice_t d, nvmlUtilization_t *u) {
    unsigned long long gpu, mem;
    nvmlReturn_t rc = gpu_number(d, "util", 10, &gpu);
    if (rc == OK) rc = gpu_number(d, "mem_util", 5, &mem);
    if (rc == OK) {
        u->gpu = (unsigned int)gpu;
        u->memory = (unsigned int)mem;
    }
    return rc;
}

nvmlReturn_t nvmlDeviceGetMemoryInfo_v2(nvmlDevice_t d, nvmlMemory_v2_t *m) {
    unsigned long long total, used;
    nvmlReturn_t rc = gpu_number(d, "mem_total", 85899345920ULL, &total);
    if (rc == OK) rc = gpu_number(d, "mem_used", 8589934592ULL, &used);
    if (rc != OK) return rc;
    /* the real library insists on NVML_STRUCT_VERSION(Memory, 2) */
    if (m->version != (unsigned int)(sizeof(nvmlMemory_v2_t) | (2u << 24))) return 25;
    m->total = total;
    m->reserved = 0;
    m->used = used;
    m->free = total > used ? total - used : 0;
    return OK;
}

nvmlReturn_t nvmlDeviceGetTotalEccErrors(nvmlDevice_t d, int errorType, int counterType, unsigned long long *count) {
    /* Only volatile (0) uncorrected (1) counts are scripted; others are zero. */
    if (errorType == 1 && counterType == 0) return gpu_number(d, "ecc_dbe", 0, count);
    unsigned long long ignored;
    nvmlReturn_t rc = gpu_number(d, "ecc_dbe", 0, &ignored);
    if (rc == OK) *count = 0;
    return rc;
}

nvmlReturn_t nvmlDeviceGetRetiredPagesPendingStatus(nvmlDevice_t d, int *state) {
    unsigned long long v;
    nvmlReturn_t rc = gpu_number(d, "pending", 0, &v);
    if (rc == OK) *state = v ? 1 : 0;
    return rc;
}

nvmlReturn_t nvmlDeviceGetCurrentClocksThrottleReasons(nvmlDevice_t d, unsigned long long *reasons) {
    return gpu_number(d, "throttle", 0, reasons);
}

nvmlReturn_t nvmlDeviceGetFieldValues(nvmlDevice_t d, int count, nvmlFieldValue_t *values) {
    unsigned long long ignored;
    nvmlReturn_t rc = gpu_number(d, "handle", 0, &ignored);
    if (rc != OK) return rc;
    if (count <= 0) return ERR_INVALID_ARGUMENT;
    for (int i = 0; i < count; i++) {
        const char *key;
        switch (values[i].fieldId) {
        case 144: key = "remap_pending"; break; /* NVML_FI_DEV_REMAPPED_PENDING */
        case 145: key = "remap_failure"; break; /* NVML_FI_DEV_REMAPPED_FAILURE */
        default: values[i].nvmlReturn = ERR_NOT_SUPPORTED; continue;
        }
        unsigned long long v = 0;
        values[i].nvmlReturn = number(gpu_lookup(d->index, key), 0, &v);
        values[i].valueType = 1; /* NVML_VALUE_TYPE_UNSIGNED_INT */
        values[i].value.uiVal = (unsigned int)v;
        values[i].timestamp = 0;
        values[i].latencyUsec = 0;
    }
    return OK;
}

nvmlReturn_t nvmlDeviceGetSupportedEventTypes(nvmlDevice_t d, unsigned long long *types) {
    return gpu_number(d, "events", XID_CRITICAL_ERROR, types);
}

nvmlReturn_t nvmlEventSetCreate(nvmlEventSet_t *set) {
    if (!initialised) return ERR_UNINITIALIZED;
    *set = calloc(1, sizeof(event_set));
    return *set ? OK : 20;
}

nvmlReturn_t nvmlDeviceRegisterEvents(nvmlDevice_t d, unsigned long long types, nvmlEventSet_t set) {
    unsigned long long supported, ignored;
    nvmlReturn_t rc = gpu_number(d, "events", XID_CRITICAL_ERROR, &supported);
    if (rc != OK) return rc;
    rc = number(gpu_lookup(d->index, "register"), 0, &ignored);
    if (rc != OK) return rc;
    if ((types & supported) != types) return ERR_NOT_SUPPORTED;
    set->registered[d->index] |= types;
    return OK;
}

nvmlReturn_t nvmlEventSetWait_v2(nvmlEventSet_t set, nvmlEventData_t *data, unsigned int timeoutms) {
    if (!initialised) return ERR_UNINITIALIZED;
    while (events_delivered < events_queued) {
        int i = events_delivered++;
        int gpu = event_gpu[i];
        if (!(set->registered[gpu] & XID_CRITICAL_ERROR)) continue;
        data->device = &devices[gpu];
        data->eventType = XID_CRITICAL_ERROR;
        data->eventData = event_xid[i];
        data->gpuInstanceId = 0xFFFFFFFF;
        data->computeInstanceId = 0xFFFFFFFF;
        return OK;
    }
    const char *lost = lookup("wait_lost");
    if (lost != NULL) {
        lost_gpu = atoi(lost);
        return 15;
    }
    usleep((useconds_t)timeoutms * 1000);
    return ERR_TIMEOUT;
}

nvmlReturn_t nvmlEventSetFree(nvmlEventSet_t set) {
    free(set);
    return OK;
}
