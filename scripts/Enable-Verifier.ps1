<#
.SYNOPSIS
    Turns on Driver Verifier (with DMA checking) and the KMDF verifier for edu_dma.sys.

.DESCRIPTION
    1. Driver Verifier: verifier /standard /driver edu_dma.sys. The standard settings include
       DMA checking (rule class 8 "DMA checking" with /ruleclasses; bit 0x80 of the classic
       /flags value; /standard is /flags 0x209BB) and WDF verification (rule class 34), besides
       special pool, IRQL checking, pool tracking, I/O verification, deadlock detection, security
       checks, miscellaneous checks and DDI compliance checking.
       With -RuleClasses the given classes are enabled instead (class 8 is always added).
    2. KMDF verifier, under HKLM\SYSTEM\CurrentControlSet\Services\edu_dma\Parameters\Wdf:
       VerifierOn=1, VerifyOn=1, DbgBreakOnError=1, VerboseOn=1 (REG_DWORD) and
       TrackHandles='*' (REG_MULTI_SZ: track references on every WDF object type).

    A REBOOT IS REQUIRED for Driver Verifier; the KMDF values are read when the driver loads.
    DbgBreakOnError breaks into a kernel debugger when the framework finds an error; attach one
    (bcdedit /debug on) to look at it.

    Sources (Microsoft Learn): "Driver Verifier command syntax", "Driver Verifier options and
    rule classes", "Using KMDF Verifier", "Registry Values for Debugging WDF Drivers".

.PARAMETER IncludeFramework
    Also verify Wdf01000.sys (recommended in "Using KMDF Verifier"; slower).

.PARAMETER RuleClasses
    Enable these rule classes (verifier /ruleclasses) instead of the standard settings.

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
    [int[]] $RuleClasses
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

if ($RuleClasses) {
    $classes = @($RuleClasses)
    if ($classes -notcontains 8) { $classes += 8 }  # 8 = DMA checking
    $arguments = @('/ruleclasses') + ($classes | ForEach-Object { "$_" }) + @('/driver') + $drivers
} else {
    $arguments = @('/standard', '/driver') + $drivers
}
# verifier.exe exits with 2 when the new settings take effect at the next boot.
$result = Invoke-Tool -FilePath 'verifier.exe' -ArgumentList $arguments -SuccessCodes @(0, 2)
$result.Output | ForEach-Object { Write-Host $_ }
Write-Host "Driver Verifier configured: verifier $($arguments -join ' ')"

$wdf = Join-Path $service 'Parameters\Wdf'
New-Item -Path $wdf -Force | Out-Null
foreach ($name in 'VerifierOn', 'VerifyOn', 'DbgBreakOnError', 'VerboseOn') {
    New-ItemProperty -LiteralPath $wdf -Name $name -PropertyType DWord -Value 1 -Force | Out-Null
}
New-ItemProperty -LiteralPath $wdf -Name 'TrackHandles' -PropertyType MultiString -Value @('*') -Force | Out-Null
Write-Host "KMDF verifier values written to $wdf :"
Get-ItemProperty -LiteralPath $wdf | Select-Object VerifierOn, VerifyOn, DbgBreakOnError, VerboseOn, TrackHandles | Format-List | Out-String | Write-Host

Write-Host 'A REBOOT IS REQUIRED for Driver Verifier. After it, check with: verifier /querysettings'
Write-Host '(the listing should show "DMA checking: Enabled" and edu_dma.sys among the verified drivers).'
