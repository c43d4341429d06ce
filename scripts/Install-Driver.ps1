<#
.SYNOPSIS
    Installs the edu DMA driver package and shows the state of the edu device(s).

.DESCRIPTION
    Takes the package folder the build produced (target\<triple>\<profile>\edu_dma_package, copied
    to the test machine) and:
      1. imports its test certificate WDRLocalTestCert.cer into the Local Machine "Trusted Root
         Certification Authorities" and "Trusted Publishers" stores (certutil -addstore);
      2. adds the driver to the driver store and installs it on matching devices
         (pnputil /add-driver edu_dma.inf /install);
      3. lists the edu devices (PCI\VEN_1234&DEV_11E8) with their status
         (pnputil /enum-devices /deviceids);
      4. with -OldQemu or -UsableRingBytes, writes the driver's UsableRingBytes parameter
         (HKLM\SYSTEM\CurrentControlSet\Services\edu_dma\Parameters, REG_DWORD) and restarts
         the edu devices so the driver reads it (pnputil /restart-device).

    Test signing must be on (see Enable-TestSigning.ps1).
    Commands as documented on Microsoft Learn: "PnPUtil command syntax", "Certutil".

    Timeouts: certutil.exe and pnputil.exe are each stopped after 300 s (then the script fails).
    Exit codes: 0 done (pnputil's 259 "no device updated" and 3010 "reboot required" count as
    done and are reported); 1 failed (a PowerShell error record says why).

.PARAMETER PackagePath
    The edu_dma_package folder (contains edu_dma.inf, edu_dma.sys, edu_dma.cat and
    WDRLocalTestCert.cer).

.PARAMETER OldQemu
    The VM runs on QEMU 8.2.0 or older (Debian 12 ships 7.2, Ubuntu 22.04 ships 6.2), whose edu
    device aborts the whole VM on a DMA that ends at its buffer end: sets UsableRingBytes to
    4095 so no transfer reaches the buffer's last byte. Same as -UsableRingBytes 4095.

.PARAMETER UsableRingBytes
    Sets UsableRingBytes (1..4096) to this value. The INF installs 4096 (the whole buffer) unless
    a value is already set; an out-of-range value in the registry is ignored by the driver.

.EXAMPLE
    .\Install-Driver.ps1 -PackagePath C:\edu\edu_dma_package

.EXAMPLE
    .\Install-Driver.ps1 -PackagePath C:\edu\edu_dma_package -OldQemu

.NOTES
    Run from an elevated PowerShell. Remove with Uninstall-Driver.ps1.
#>
[CmdletBinding()]
param(
    [Parameter(Mandatory)]
    [string] $PackagePath,

    [switch] $OldQemu,

    [ValidateRange(1, 4096)]
    [int] $UsableRingBytes = 0
)

Set-StrictMode -Version Latest
$ErrorActionPreference = 'Stop'
Import-Module (Join-Path $PSScriptRoot 'EduDmaKit.psm1') -Force

Assert-Elevated -Purpose 'Installing a driver needs administrator rights.'

if ($OldQemu) {
    if ($UsableRingBytes -ne 0 -and $UsableRingBytes -ne 4095) {
        throw '-OldQemu sets UsableRingBytes to 4095; do not combine it with another -UsableRingBytes.'
    }
    $UsableRingBytes = 4095
}

$package = (Resolve-Path -LiteralPath $PackagePath).Path
foreach ($file in 'edu_dma.inf', 'edu_dma.sys', 'edu_dma.cat', 'WDRLocalTestCert.cer') {
    if (-not (Test-Path -LiteralPath (Join-Path $package $file) -PathType Leaf)) {
        throw "$file is missing from $package. Pass the edu_dma_package folder produced by 'cargo make' or 'cargo wdk build'."
    }
}

$certificate = Join-Path $package 'WDRLocalTestCert.cer'
foreach ($store in 'Root', 'TrustedPublisher') {
    Invoke-Tool -FilePath 'certutil.exe' -ArgumentList @('-addstore', '-f', $store, $certificate) | Out-Null
    Write-Host "Imported WDRLocalTestCert into LocalMachine\$store."
}

# 3010: installed, reboot needed. 259: staged, but no present device was updated.
$inf = Join-Path $package 'edu_dma.inf'
$install = Invoke-Tool -FilePath 'pnputil.exe' -ArgumentList @('/add-driver', $inf, '/install') -SuccessCodes @(0, 259, 3010)
$install.Output | ForEach-Object { Write-Host $_ }
switch ($install.ExitCode) {
    3010 { Write-Warning 'The driver is installed; a reboot is required to finish.' }
    259 {
        Write-Warning ('The package was added to the driver store, but no device was updated: either no edu ' +
            'device is present (start QEMU with -device edu) or the installed driver already ranks higher.')
    }
}

$listing = Invoke-Tool -FilePath 'pnputil.exe' -ArgumentList @('/enum-devices', '/deviceids')
$devices = @(Split-Blocks -Lines $listing.Output | Where-Object { $_ -match 'VEN_1234&DEV_11E8' })
if ($devices.Count -eq 0) {
    Write-Warning 'No edu device (PCI\VEN_1234&DEV_11E8) found. Start the VM with -device edu.'
} else {
    Write-Host ''
    Write-Host "edu device(s): $($devices.Count)"
    $devices | ForEach-Object { Write-Host $_; Write-Host '' }
    Write-Host 'Expected: Status "Started" and Driver Name oemNN.inf. See docs/test-machine.md (Troubleshooting) otherwise.'
}

if ($UsableRingBytes -ne 0) {
    # The service key exists once pnputil installed the package (its INF adds the service).
    $parameters = 'HKLM:\SYSTEM\CurrentControlSet\Services\edu_dma\Parameters'
    New-Item -Path $parameters -Force | Out-Null
    New-ItemProperty -Path $parameters -Name 'UsableRingBytes' -PropertyType DWord -Value $UsableRingBytes -Force | Out-Null
    Write-Host "Set UsableRingBytes = $UsableRingBytes under $parameters."
    # The driver reads it when a device is added: restart the edu devices.
    foreach ($device in $devices) {
        if ($device -match 'Instance ID:\s+(\S+)') {
            $instance = $Matches[1]
            $restart = Invoke-Tool -FilePath 'pnputil.exe' -ArgumentList @('/restart-device', $instance) -SuccessCodes @(0, 3010)
            if ($restart.ExitCode -eq 3010) {
                Write-Warning "Restarting $instance needs a reboot; the driver uses the new value after it."
            } else {
                Write-Host "Restarted $instance."
            }
        }
    }
}
