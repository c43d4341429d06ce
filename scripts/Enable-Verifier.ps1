<#
.SYNOPSIS
    Turns on Driver Verifier (with DMA checking) and the KMDF verifier for edu_dma.sys.

.DESCRIPTION
    1. Driver Verifier: verifier /standard /driver edu_dma.sys. On Windows 10 1803 and later
       /standard enables the standard rule classes (verifier /ruleclasses numbering): 1 special
       pool, 2 force IRQL checking, 4 pool tracking, 5 I/O verification, 6 deadlock detection,
       8 DMA checking, 9 security checks, 12 miscellaneous checks, 18 DDI compliance checking
       and 34 WDF verification. WDF verification is a rule class of its own, not a bit of the
       classic /flags value: "/standard = /flags 0x209BB" describes only the older flag-based
       options and does not cover it.
       With -RuleClasses the given classes are enabled instead (class 8 is always added).
       Driver Verifier keeps one configuration for the whole machine: this REPLACES any settings
       already there. The previous settings are printed first (verifier /querysettings) so you
       can restore them.
    2. KMDF verifier, under HKLM\SYSTEM\CurrentControlSet\Services\edu_dma\Parameters\Wdf:
       VerifierOn=1, VerifyOn=1, DbgBreakOnError=1 (omitted with -NoBreakOnError), VerboseOn=1
       (REG_DWORD) and TrackHandles='*' (REG_MULTI_SZ: track references on every WDF object).
       The key is created only if it is missing, and no other value under it is touched: the
       INF's KmdfService section writes KmdfLibraryVersion there, and the driver does not load
       without it. What the script creates or changes is recorded in the value
       EduDmaKitVerifierUndo (REG_SZ, JSON) so Disable-Verifier.ps1 undoes exactly that.

    A REBOOT IS REQUIRED for Driver Verifier; the KMDF values are read when the driver loads.

    DbgBreakOnError makes KMDF call DbgBreakPoint() when its verifier finds an error and when a
    wait of its own takes longer than 60 s (queue drain or purge, power-down). With a kernel
    debugger attached (bcdedit /debug on) that is a break-in you can inspect and continue. WITHOUT
    A DEBUGGER IT IS A BUGCHECK: 0x1E KMODE_EXCEPTION_NOT_HANDLED with parameter 1 = 0x80000003
    (STATUS_BREAKPOINT). On a test VM without a debugger use -NoBreakOnError: the verifier still
    logs to the WDF log (!wdflogdump) and fails the offending call; real framework violations are
    still bugcheck 0x10D (WDF_VIOLATION). Driver Verifier's own findings are bugchecks with or
    without a debugger (0xC4, 0xE6, ...). See docs/test-machine.md.

    Sources (Microsoft Learn): "Driver Verifier command syntax", "Driver Verifier options and
    rule classes", "Using KMDF Verifier", "Registry Values for Debugging WDF Drivers", "Bug Check
    0x1E", "Bug Check 0x10D".

    Timeouts: verifier.exe is stopped after 120 s (then the script fails). Exit codes: 0 done;
    1 failed (a PowerShell error record says why: not elevated, service missing, verifier.exe
    failed or timed out, registry write refused).

.PARAMETER IncludeFramework
    Also verify Wdf01000.sys (recommended in "Using KMDF Verifier"; slower).

.PARAMETER RuleClasses
    Enable these rule classes (verifier /ruleclasses) instead of the standard settings.

.PARAMETER NoBreakOnError
    Do not set DbgBreakOnError (for machines without a kernel debugger, where a KMDF verifier
    break is bugcheck 0x1E).

.EXAMPLE
    .\Enable-Verifier.ps1

.EXAMPLE
    .\Enable-Verifier.ps1 -RuleClasses 1,2,4,5,6,8,9,12,18,34,10 -IncludeFramework

.NOTES
    Run from an elevated PowerShell after Install-Driver.ps1. Undo with Disable-Verifier.ps1.
#>
[CmdletBinding()]
param(
    [switch] $IncludeFramework,
    [int[]] $RuleClasses,
    [switch] $NoBreakOnError
)

Set-StrictMode -Version Latest
$ErrorActionPreference = 'Stop'
Import-Module (Join-Path $PSScriptRoot 'EduDmaKit.psm1') -Force

Assert-Elevated -Purpose 'Driver Verifier settings need administrator rights.'

$service = 'HKLM:\SYSTEM\CurrentControlSet\Services\edu_dma'
if (-not (Test-Path -LiteralPath $service)) {
    throw 'The edu_dma service does not exist: install the driver first (Install-Driver.ps1).'
}

$drivers = @('edu_dma.sys')
if ($IncludeFramework) { $drivers += 'Wdf01000.sys' }

$previous = Invoke-Tool -FilePath 'verifier.exe' -ArgumentList @('/querysettings') -SuccessCodes @(0, 1, 2) -TimeoutSeconds 120
Write-Host 'Driver Verifier settings before this script (they are about to be replaced):'
$previous.Output | ForEach-Object { Write-Host "    $_" }

if ($RuleClasses) {
    $classes = @($RuleClasses)
    if ($classes -notcontains 8) { $classes += 8 }  # 8 = DMA checking
    $arguments = @('/ruleclasses') + ($classes | ForEach-Object { "$_" }) + @('/driver') + $drivers
} else {
    $arguments = @('/standard', '/driver') + $drivers
}
# verifier.exe exits with 2 when the new settings take effect at the next boot.
$result = Invoke-Tool -FilePath 'verifier.exe' -ArgumentList $arguments -SuccessCodes @(0, 2) -TimeoutSeconds 120
$result.Output | ForEach-Object { Write-Host $_ }
Write-Host "Driver Verifier configured: verifier $($arguments -join ' ')"

# Create only what is missing; New-Item -Force on an existing registry key would delete it and
# everything under it (KmdfLibraryVersion included) before creating it again.
$undoName = 'EduDmaKitVerifierUndo'
$parameters = Join-Path $service 'Parameters'
$wdf = Join-Path $parameters 'Wdf'
$undo = [ordered]@{ createdKeys = @(); createdValues = @(); previousValues = @{} }
$existingUndo = $null
if (Test-Path -LiteralPath $wdf) {
    $existingUndo = (Get-Item -LiteralPath $wdf).GetValue($undoName, $null)
}
if ($null -ne $existingUndo) {
    # Already enabled by this script: keep the first record, which knows the original state.
    $undo = $null
}
foreach ($key in $parameters, $wdf) {
    if (-not (Test-Path -LiteralPath $key)) {
        New-Item -Path $key | Out-Null
        if ($null -ne $undo) { $undo.createdKeys += $key }
    }
}
$values = [ordered]@{ VerifierOn = 1; VerifyOn = 1; VerboseOn = 1 }
if (-not $NoBreakOnError) { $values.DbgBreakOnError = 1 }
$item = Get-Item -LiteralPath $wdf
foreach ($name in @($values.Keys) + 'TrackHandles') {
    if ($null -eq $undo) { continue }
    if ($item.GetValueNames() -contains $name) {
        $undo.previousValues[$name] = [ordered]@{
            kind  = "$($item.GetValueKind($name))"
            value = @($item.GetValue($name, $null, 'DoNotExpandEnvironmentNames'))
        }
    } else {
        $undo.createdValues += $name
    }
}
if ($null -ne $undo) {
    $json = $undo | ConvertTo-Json -Depth 5 -Compress
    New-ItemProperty -LiteralPath $wdf -Name $undoName -PropertyType String -Value $json | Out-Null
}
foreach ($name in $values.Keys) {
    if ($item.GetValueNames() -contains $name) {
        Set-ItemProperty -LiteralPath $wdf -Name $name -Type DWord -Value $values[$name]
    } else {
        New-ItemProperty -LiteralPath $wdf -Name $name -PropertyType DWord -Value $values[$name] | Out-Null
    }
}
if ($item.GetValueNames() -contains 'TrackHandles') {
    Set-ItemProperty -LiteralPath $wdf -Name 'TrackHandles' -Type MultiString -Value @('*')
} else {
    New-ItemProperty -LiteralPath $wdf -Name 'TrackHandles' -PropertyType MultiString -Value @('*') | Out-Null
}
if ($NoBreakOnError -and ($item.GetValueNames() -contains 'DbgBreakOnError')) {
    Write-Warning 'DbgBreakOnError was already set before this script and is left as it is.'
}
Write-Host "KMDF verifier values written to $wdf :"
$key = Get-Item -LiteralPath $wdf
$key.GetValueNames() | Where-Object { $_ -ne $undoName } | ForEach-Object { Write-Host ('    {0} = {1}' -f $_, (@($key.GetValue($_)) -join ', ')) }

Write-Host 'A REBOOT IS REQUIRED for Driver Verifier. After it, check with: verifier /querysettings'
Write-Host '(the listing should show "DMA checking: Enabled" and edu_dma.sys among the verified drivers).'
