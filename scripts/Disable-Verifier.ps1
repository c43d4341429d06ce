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

function Assert-Elevated {
    $principal = [Security.Principal.WindowsPrincipal]::new([Security.Principal.WindowsIdentity]::GetCurrent())
    if (-not $principal.IsInRole([Security.Principal.WindowsBuiltInRole]::Administrator)) {
        throw 'Driver Verifier settings need administrator rights: run this script from an elevated PowerShell.'
    }
}

function Invoke-Tool {
    param(
        [Parameter(Mandatory)] [string] $FilePath,
        [string[]] $ArgumentList = @(),
        [int[]] $SuccessCodes = @(0)
    )
    # Native tools report failure through their exit code. Under 'Stop', Windows PowerShell 5.1
    # would turn their stderr lines into terminating errors, so relax it around the call.
    $saved = $ErrorActionPreference
    $ErrorActionPreference = 'Continue'
    try {
        $output = @(& $FilePath @ArgumentList 2>&1 | ForEach-Object { "$_" })
        $code = $LASTEXITCODE
    } finally {
        $ErrorActionPreference = $saved
    }
    if ($SuccessCodes -notcontains $code) {
        throw "$FilePath $($ArgumentList -join ' ') failed with exit code $code.`n$($output -join [Environment]::NewLine)"
    }
    [pscustomobject]@{ ExitCode = $code; Output = $output }
}

Assert-Elevated

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
