/*
 * edu_api.h - the I/O contract of the edu DMA driver (edu_dma.sys) for C and C++ callers.
 *
 * The Rust crate `edu-api` (crates/edu-api/src/lib.rs) is the definition; this header restates
 * it for C. The test crates/edu-api/tests/c_header.rs compiles this header with the host C
 * compiler and compares every macro value, structure size, field offset and field width with
 * the Rust definitions, so the two cannot drift apart silently.
 *
 * Usable from user mode (after <windows.h>, or on its own) and from kernel mode (after
 * <ntddk.h> or <wdm.h>). Needs C99 or C++11 (<stdint.h>, <stddef.h>).
 *
 * Finding the device: open the device interface GUID_DEVINTERFACE_EDU_DMA
 * (SetupDiGetClassDevs/CM_Get_Device_Interface_List, then CreateFile). The device's SDDL admits
 * only SYSTEM and Administrators, so the caller must run elevated.
 *
 * Data path: ReadFile/WriteFile move data between the caller's buffer and the device's 4 KiB
 * buffer, used as a ring (byte i goes to device offset i % BufferSize of EDU_DEVICE_INFO:
 * 4096, or 4095 with UsableRingBytes on QEMU <= 8.2.0). At most
 * EDU_MAX_TRANSFER_LENGTH bytes per request (STATUS_INVALID_BUFFER_SIZE above); a zero-length
 * request completes with success and 0 bytes.
 */
#ifndef EDU_API_H
#define EDU_API_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Version of the contract; EDU_DEVICE_INFO.ApiVersion carries the driver's value. */
#define EDU_API_VERSION 1u

/* Size of the device's DMA buffer in bytes. */
#define EDU_DEVICE_BUFFER_SIZE 4096u

/* Largest read, write or DMA-at-offset transfer the driver accepts (16 MiB). */
#define EDU_MAX_TRANSFER_LENGTH 0x01000000u

/* EDU_DEVICE_INFO.DmaMode values. */
#define EDU_DMA_MODE_BUS_MASTER 1u /* bus-master packet DMA (the edu device's own engine) */
#define EDU_DMA_MODE_SYSTEM 2u     /* system-mode DMA through a platform DMA controller */

/*
 * IOCTL codes, written out so the header needs no <winioctl.h>. Each is
 * CTL_CODE(FILE_DEVICE_UNKNOWN (0x22), function, method, access):
 *
 *   code                     function  method             access                      input            output
 *   IOCTL_EDU_GET_INFO       0x800     METHOD_BUFFERED    FILE_ANY_ACCESS             none             >= sizeof(EDU_DEVICE_INFO)
 *   IOCTL_EDU_GET_STATS      0x801     METHOD_BUFFERED    FILE_ANY_ACCESS             none             >= sizeof(EDU_STATISTICS)
 *   IOCTL_EDU_RESET          0x802     METHOD_BUFFERED    FILE_WRITE_ACCESS           none             none
 *   IOCTL_EDU_DMA_WRITE_AT   0x803     METHOD_IN_DIRECT   FILE_WRITE_ACCESS           EDU_DMA_AT       the DATA TO WRITE (1..16 MiB)
 *   IOCTL_EDU_DMA_READ_AT    0x804     METHOD_OUT_DIRECT  FILE_READ_ACCESS            EDU_DMA_AT       receives the data (1..16 MiB)
 *   IOCTL_EDU_LOOPBACK       0x805     METHOD_BUFFERED    FILE_READ|FILE_WRITE_ACCESS 1..BufferSize    same length as the input
 *
 * IOCTL_EDU_DMA_WRITE_AT carries its data in the OUTPUT buffer (lpOutBuffer of
 * DeviceIoControl): METHOD_IN_DIRECT maps that buffer for reading by the device.
 * Information (lpBytesReturned) is the number of bytes that really moved, on every status.
 */
#define IOCTL_EDU_GET_INFO 0x00222000u
#define IOCTL_EDU_GET_STATS 0x00222004u
#define IOCTL_EDU_RESET 0x0022A008u
#define IOCTL_EDU_DMA_WRITE_AT 0x0022A00Du
#define IOCTL_EDU_DMA_READ_AT 0x00226012u
#define IOCTL_EDU_LOOPBACK 0x0022E014u

/* Device interface GUID {5E3C9A52-8D1F-4B7E-9C2A-3F6D1E8B7A40}, as its fields. */
#define EDU_DEVINTERFACE_GUID_DATA1 0x5E3C9A52u
#define EDU_DEVINTERFACE_GUID_DATA2 0x8D1Fu
#define EDU_DEVINTERFACE_GUID_DATA3 0x4B7Eu
#define EDU_DEVINTERFACE_GUID_DATA4_0 0x9Cu
#define EDU_DEVINTERFACE_GUID_DATA4_1 0x2Au
#define EDU_DEVINTERFACE_GUID_DATA4_2 0x3Fu
#define EDU_DEVINTERFACE_GUID_DATA4_3 0x6Du
#define EDU_DEVINTERFACE_GUID_DATA4_4 0x1Eu
#define EDU_DEVINTERFACE_GUID_DATA4_5 0x8Bu
#define EDU_DEVINTERFACE_GUID_DATA4_6 0x7Au
#define EDU_DEVINTERFACE_GUID_DATA4_7 0x40u

/* With <guiddef.h> in scope (any Windows header), declare the GUID itself. Include <initguid.h>
 * first in exactly one translation unit to define its storage. */
#ifdef DEFINE_GUID
DEFINE_GUID(GUID_DEVINTERFACE_EDU_DMA, 0x5E3C9A52, 0x8D1F, 0x4B7E, 0x9C, 0x2A, 0x3F, 0x6D, 0x1E,
            0x8B, 0x7A, 0x40);
#endif

/* Input of IOCTL_EDU_DMA_READ_AT and IOCTL_EDU_DMA_WRITE_AT. */
typedef struct _EDU_DMA_AT {
    uint32_t Offset;   /* device-buffer offset of the first byte, below EDU_DEVICE_INFO.BufferSize */
    uint32_t Reserved; /* must be 0 */
} EDU_DMA_AT;

/* Output of IOCTL_EDU_GET_INFO. */
typedef struct _EDU_DEVICE_INFO {
    uint32_t ApiVersion;     /* the driver's EDU_API_VERSION */
    uint32_t DeviceId;       /* identification register (0x010000ED for edu 1.0) */
    uint32_t DmaMode;        /* EDU_DMA_MODE_* */
    uint32_t AddressWidth;   /* address width declared to the DMA enabler, in bits */
    uint32_t MaxTransfer;    /* largest single device transfer (the enabler's MaximumLength) */
    uint32_t FragmentLength; /* fragment length the framework uses */
    uint32_t BufferSize;     /* ring length: 4096, or less (UsableRingBytes, QEMU <= 8.2.0) */
    uint32_t Msi;            /* 1 when the interrupt is message-signalled */
} EDU_DEVICE_INFO;

/* Output of IOCTL_EDU_GET_STATS: counters since load or the last IOCTL_EDU_RESET. */
typedef struct _EDU_STATISTICS {
    uint64_t Requests;     /* requests completed (all kinds) */
    uint64_t BytesRead;    /* bytes moved from the device to callers */
    uint64_t BytesWritten; /* bytes moved from callers to the device */
    uint64_t Fragments;    /* device DMA commands that completed */
    uint64_t Errors;       /* requests completed with an error (cancellations, timeouts excluded) */
    uint64_t Cancelled;    /* requests completed with STATUS_CANCELLED */
    uint64_t Timeouts;     /* requests completed with STATUS_IO_TIMEOUT */
    uint64_t Interrupts;   /* interrupts claimed by the ISR */
} EDU_STATISTICS;

/* Layout checks that hold for every compiler and target (C89-compatible form). */
#define EDU_API_STATIC_ASSERT(cond, name) typedef char edu_api_assert_##name[(cond) ? 1 : -1]
EDU_API_STATIC_ASSERT(sizeof(EDU_DMA_AT) == 8, dma_at_size);
EDU_API_STATIC_ASSERT(offsetof(EDU_DMA_AT, Reserved) == 4, dma_at_reserved);
EDU_API_STATIC_ASSERT(sizeof(EDU_DEVICE_INFO) == 32, device_info_size);
EDU_API_STATIC_ASSERT(offsetof(EDU_DEVICE_INFO, Msi) == 28, device_info_msi);
EDU_API_STATIC_ASSERT(sizeof(EDU_STATISTICS) == 64, statistics_size);
EDU_API_STATIC_ASSERT(offsetof(EDU_STATISTICS, Interrupts) == 56, statistics_interrupts);

/* Where the CTL_CODE macro is available (<winioctl.h>, <wdm.h>), check the written-out codes. */
#if defined(CTL_CODE) && defined(FILE_DEVICE_UNKNOWN) && defined(METHOD_BUFFERED)
EDU_API_STATIC_ASSERT(IOCTL_EDU_GET_INFO ==
                          CTL_CODE(FILE_DEVICE_UNKNOWN, 0x800, METHOD_BUFFERED, FILE_ANY_ACCESS),
                      ctl_get_info);
EDU_API_STATIC_ASSERT(IOCTL_EDU_GET_STATS ==
                          CTL_CODE(FILE_DEVICE_UNKNOWN, 0x801, METHOD_BUFFERED, FILE_ANY_ACCESS),
                      ctl_get_stats);
EDU_API_STATIC_ASSERT(IOCTL_EDU_RESET ==
                          CTL_CODE(FILE_DEVICE_UNKNOWN, 0x802, METHOD_BUFFERED, FILE_WRITE_ACCESS),
                      ctl_reset);
EDU_API_STATIC_ASSERT(IOCTL_EDU_DMA_WRITE_AT == CTL_CODE(FILE_DEVICE_UNKNOWN, 0x803,
                                                         METHOD_IN_DIRECT, FILE_WRITE_ACCESS),
                      ctl_dma_write_at);
EDU_API_STATIC_ASSERT(IOCTL_EDU_DMA_READ_AT == CTL_CODE(FILE_DEVICE_UNKNOWN, 0x804,
                                                        METHOD_OUT_DIRECT, FILE_READ_ACCESS),
                      ctl_dma_read_at);
EDU_API_STATIC_ASSERT(IOCTL_EDU_LOOPBACK ==
                          CTL_CODE(FILE_DEVICE_UNKNOWN, 0x805, METHOD_BUFFERED,
                                   FILE_READ_ACCESS | FILE_WRITE_ACCESS),
                      ctl_loopback);
#endif

#ifdef __cplusplus
}
#endif

#endif /* EDU_API_H */
