<#
.SYNOPSIS
    Removes the edu DMA driver from the driver store and from every device using it.

.DESCRIPTION
    Finds the published name (oemNN.inf) of every driver-store package whose original name is
    edu_dma.inf (pnputil /enum-drivers) and deletes it with
    pnputil /delete-driver oemNN.inf /uninstall /force. Devices that used it fall back to no
    driver ("Other devices" in Device Manager).

    Commands as documented on Microsoft Learn: "PnPUtil command syntax", "Certutil".

    Timeouts: pnputil.exe and certutil.exe are each stopped after 300 s (then the script fails).
    Exit codes: 0 done (pnputil's 3010 "reboot required" counts as done); 1 failed (a PowerShell
    error record says why).

.PARAMETER RemoveCertificate
    Also delete WDRLocalTestCert from the Local Machine Root and TrustedPublisher stores.

.EXAMPLE
    .\Uninstall-Driver.ps1

.EXAMPLE
    .\Uninstall-Driver.ps1 -RemoveCertificate

.NOTES
    Run from an elevated PowerShell.
#>
[CmdletBinding()]
param(
    [switch] $RemoveCertificate
)

Set-StrictMode -Version Latest
$ErrorActionPreference = 'Stop'
Import-Module (Join-Path $PSScriptRoot 'EduDmaKit.psm1') -Force

Assert-Elevated -Purpose 'Removing a driver needs administrator rights.'

$listing = Invoke-Tool -FilePath 'pnputil.exe' -ArgumentList @('/enum-drivers')
# Match on the original INF name, not on the (localized) field labels.
$published = @(
    Split-Blocks -Lines $listing.Output |
        Where-Object { $_ -match '(?im)\bedu_dma\.inf\b' } |
        ForEach-Object { if ($_ -match '(?i)\b(oem\d+\.inf)\b') { $Matches[1] } }
)

if ($published.Count -eq 0) {
    Write-Host 'No edu_dma.inf package is in the driver store; nothing to remove.'
} else {
    foreach ($oem in $published) {
        Invoke-Tool -FilePath 'pnputil.exe' -ArgumentList @('/delete-driver', $oem, '/uninstall', '/force') -SuccessCodes @(0, 3010) |
            ForEach-Object { $_.Output | ForEach-Object { Write-Host $_ } }
        Write-Host "Removed $oem (edu_dma.inf)."
    }
}

if ($RemoveCertificate) {
    foreach ($store in 'Root', 'TrustedPublisher') {
        # certutil fails when the certificate is not there; that is fine.
        $result = Invoke-Tool -FilePath 'certutil.exe' -ArgumentList @('-delstore', $store, 'WDRLocalTestCert') -SuccessCodes @(0, -2146885628)
        if ($result.ExitCode -eq 0) { Write-Host "Removed WDRLocalTestCert from LocalMachine\$store." }
    }
}
