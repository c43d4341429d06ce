<#
.SYNOPSIS
    Lets Windows load the test-signed edu DMA driver (bcdedit /set testsigning on).

.DESCRIPTION
    The packages that cargo make / cargo wdk build produce are signed with a locally generated
    test certificate (WDRLocalTestCert). Windows loads such a kernel driver only while test
    signing is on, which in turn is ignored while Secure Boot is on.

    This script checks Secure Boot and BitLocker, turns test signing on with bcdedit, and tells
    you to reboot. After the reboot the desktop shows a "Test Mode" watermark.

    Commands as documented on Microsoft Learn: "The TESTSIGNING boot configuration option",
    "BCDEdit /set", "Confirm-SecureBootUEFI", "Suspend-BitLocker".

    Timeouts: bcdedit.exe is stopped after 300 s (then the script fails). Exit codes: 0 done;
    1 failed (a PowerShell error record says why: not elevated, bcdedit failed or timed out).
    Secure Boot being on is a warning, not a failure.

.PARAMETER SuspendBitLocker
    Suspend BitLocker protection on the system drive for one reboot, so that the changed boot
    configuration does not trigger BitLocker recovery.

.PARAMETER Restart
    Restart the computer when done.

.EXAMPLE
    .\Enable-TestSigning.ps1 -SuspendBitLocker -Restart

.NOTES
    Run from an elevated PowerShell. Undo with: bcdedit /set testsigning off (then reboot).
#>
[CmdletBinding()]
param(
    [switch] $SuspendBitLocker,
    [switch] $Restart
)

Set-StrictMode -Version Latest
$ErrorActionPreference = 'Stop'
Import-Module (Join-Path $PSScriptRoot 'EduDmaKit.psm1') -Force

Assert-Elevated -Purpose 'This script changes the boot configuration.'

# Secure Boot: with it on, Windows ignores the testsigning option and refuses the driver
# (Code 52 in Device Manager).
try {
    if (Confirm-SecureBootUEFI) {
        Write-Warning ('Secure Boot is ON. Windows ignores test signing while it is on. Turn it off in the ' +
            'firmware setup (for a QEMU guest with OVMF: use a firmware image without Secure Boot, or ' +
            'disable it in the OVMF setup menu, Device Manager > Secure Boot Configuration).')
    } else {
        Write-Host 'Secure Boot is off.'
    }
} catch {
    # Legacy BIOS boot, or firmware without the variable: Secure Boot cannot be on.
    Write-Host 'Secure Boot state not available (legacy BIOS boot?); nothing to do.'
}

# BitLocker: a boot configuration change makes the next boot ask for the recovery key unless
# protection is suspended.
if (Get-Command -Name Get-BitLockerVolume -ErrorAction SilentlyContinue) {
    $volume = Get-BitLockerVolume -MountPoint $env:SystemDrive -ErrorAction SilentlyContinue
    if ($null -ne $volume -and "$($volume.ProtectionStatus)" -eq 'On') {
        if ($SuspendBitLocker) {
            Suspend-BitLocker -MountPoint $env:SystemDrive -RebootCount 1 | Out-Null
            Write-Host "BitLocker suspended on $env:SystemDrive for one reboot."
        } else {
            Write-Warning ("BitLocker protects $env:SystemDrive. Changing the boot configuration will make the " +
                'next boot ask for the recovery key. Re-run with -SuspendBitLocker, or run ' +
                "Suspend-BitLocker -MountPoint $env:SystemDrive -RebootCount 1 first.")
        }
    }
}

Invoke-Tool -FilePath 'bcdedit.exe' -ArgumentList @('/set', 'testsigning', 'on') | Out-Null
Write-Host 'Test signing is ON in the boot configuration.'
Write-Host 'A REBOOT IS REQUIRED before test-signed drivers load (the desktop then shows "Test Mode").'

if ($Restart) {
    Restart-Computer -Force
}
