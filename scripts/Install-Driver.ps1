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
         (pnputil /enum-devices /deviceids).

    Test signing must be on (see Enable-TestSigning.ps1).
    Commands as documented on Microsoft Learn: "PnPUtil command syntax", "Certutil".

    Timeouts: certutil.exe and pnputil.exe are each stopped after 300 s (then the script fails).
    Exit codes: 0 done (pnputil's 259 "no device updated" and 3010 "reboot required" count as
    done and are reported); 1 failed (a PowerShell error record says why).

.PARAMETER PackagePath
    The edu_dma_package folder (contains edu_dma.inf, edu_dma.sys, edu_dma.cat and
    WDRLocalTestCert.cer).

.EXAMPLE
    .\Install-Driver.ps1 -PackagePath C:\edu\edu_dma_package

.NOTES
    Run from an elevated PowerShell. Remove with Uninstall-Driver.ps1.
#>
[CmdletBinding()]
param(
    [Parameter(Mandatory)]
    [string] $PackagePath
)

Set-StrictMode -Version Latest
$ErrorActionPreference = 'Stop'
Import-Module (Join-Path $PSScriptRoot 'EduDmaKit.psm1') -Force

Assert-Elevated -Purpose 'Installing a driver needs administrator rights.'

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
