<#
.SYNOPSIS
    Turns Driver Verifier and the KMDF verifier off again (undoes Enable-Verifier.ps1).

.DESCRIPTION
    Runs verifier /reset (removes all Driver Verifier settings, for every driver) and deletes the
    KMDF verifier values VerifierOn, VerifyOn, DbgBreakOnError, VerboseOn and TrackHandles from
    HKLM\SYSTEM\CurrentControlSet\Services\edu_dma\Parameters\Wdf.

    A REBOOT IS REQUIRED for the change to take effect.

    Sources (Microsoft Learn): "Driver Verifier command syntax", "Using KMDF Verifier".

.EXAMPLE
    .\Disable-Verifier.ps1

.NOTES
    Run from an elevated PowerShell.
#>
[CmdletBinding()]
param()

Set-StrictMode -Version Latest
$ErrorActionPreference = 'Stop'
Import-Module (Join-Path $PSScriptRoot 'EduDmaKit.psm1') -Force

Assert-Elevated -Purpose 'Driver Verifier settings need administrator rights.'

# verifier.exe exits with 2 when the change takes effect at the next boot.
$result = Invoke-Tool -FilePath 'verifier.exe' -ArgumentList @('/reset') -SuccessCodes @(0, 2)
$result.Output | ForEach-Object { Write-Host $_ }
Write-Host 'Driver Verifier settings removed (verifier /reset).'

$wdf = 'HKLM:\SYSTEM\CurrentControlSet\Services\edu_dma\Parameters\Wdf'
if (Test-Path -LiteralPath $wdf) {
    $present = (Get-Item -LiteralPath $wdf).GetValueNames()
    foreach ($name in 'VerifierOn', 'VerifyOn', 'DbgBreakOnError', 'VerboseOn', 'TrackHandles') {
        if ($present -contains $name) {
            Remove-ItemProperty -LiteralPath $wdf -Name $name
        }
    }
    Write-Host "KMDF verifier values removed from $wdf."
} else {
    Write-Host 'No KMDF verifier values were set.'
}

Write-Host 'A REBOOT IS REQUIRED for the change to take effect.'
