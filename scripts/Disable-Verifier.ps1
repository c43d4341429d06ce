<#
.SYNOPSIS
    Turns Driver Verifier and the KMDF verifier off again (undoes Enable-Verifier.ps1).

.DESCRIPTION
    1. Driver Verifier: verifier /reset removes every Driver Verifier setting, for every driver.
       Driver Verifier keeps one configuration per machine, which Enable-Verifier.ps1 replaced
       (it printed the settings it found first, so you can set them again).
    2. KMDF verifier: undoes exactly what Enable-Verifier.ps1 recorded in the value
       EduDmaKitVerifierUndo under HKLM\SYSTEM\CurrentControlSet\Services\edu_dma\Parameters\Wdf:
       deletes the values it created, restores the ones it changed to their earlier data,
       deletes the keys it created if they are empty again, then deletes the record. Nothing it
       did not create is deleted (KmdfLibraryVersion, written by the INF, stays). Without a
       record (values set by hand or by an older kit) nothing is deleted: the values found are
       listed with the command that would remove them.

    A REBOOT IS REQUIRED for the change to take effect.

    Sources (Microsoft Learn): "Driver Verifier command syntax", "Using KMDF Verifier".

    Timeouts: verifier.exe is stopped after 120 s (then the script fails). Exit codes: 0 done;
    1 failed (a PowerShell error record says why: not elevated, verifier.exe failed or timed
    out, registry write refused).

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

$arguments = @('/reset')
# verifier.exe exits with 2 when the change takes effect at the next boot.
$result = Invoke-Tool -FilePath 'verifier.exe' -ArgumentList $arguments -SuccessCodes @(0, 2) -TimeoutSeconds 120
$result.Output | ForEach-Object { Write-Host $_ }
Write-Host "Driver Verifier: verifier $($arguments -join ' ') done."

$undoName = 'EduDmaKitVerifierUndo'
$wdf = 'HKLM:\SYSTEM\CurrentControlSet\Services\edu_dma\Parameters\Wdf'
$kmdfNames = 'VerifierOn', 'VerifyOn', 'DbgBreakOnError', 'VerboseOn', 'TrackHandles'
if (-not (Test-Path -LiteralPath $wdf)) {
    Write-Host 'No KMDF verifier values were set.'
} else {
    $key = Get-Item -LiteralPath $wdf
    $record = $key.GetValue($undoName, $null)
    if ($null -eq $record) {
        $found = @($key.GetValueNames() | Where-Object { $kmdfNames -contains $_ })
        if ($found.Count -eq 0) {
            Write-Host 'No KMDF verifier values were set.'
        } else {
            Write-Warning ("KMDF verifier values present but not recorded by Enable-Verifier.ps1, left as they are: " +
                ($found -join ', ') + ". Remove them by hand if you set them: Remove-ItemProperty -LiteralPath '$wdf' -Name " +
                ($found -join ','))
        }
    } else {
        $undo = $record | ConvertFrom-Json
        foreach ($name in @($undo.createdValues)) {
            if ($key.GetValueNames() -contains $name) {
                Remove-ItemProperty -LiteralPath $wdf -Name $name
            }
        }
        foreach ($property in @($undo.previousValues.PSObject.Properties)) {
            $kind = $property.Value.kind
            $value = @($property.Value.value)
            if ($kind -ne 'MultiString') { $value = $value[0] }
            Set-ItemProperty -LiteralPath $wdf -Name $property.Name -Type $kind -Value $value
        }
        Remove-ItemProperty -LiteralPath $wdf -Name $undoName
        $keys = @($undo.createdKeys)
        [array]::Reverse($keys)
        foreach ($created in $keys) {
            if (-not (Test-Path -LiteralPath $created)) { continue }
            $item = Get-Item -LiteralPath $created
            if ($item.ValueCount -eq 0 -and $item.SubKeyCount -eq 0) {
                Remove-Item -LiteralPath $created
            }
        }
        Write-Host "KMDF verifier settings restored to what they were before Enable-Verifier.ps1 under $wdf."
    }
}

Write-Host 'A REBOOT IS REQUIRED for the change to take effect.'
