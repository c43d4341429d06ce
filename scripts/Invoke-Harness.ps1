<#
.SYNOPSIS
    Runs edu-harness against the real device and collects the results and verifier state.

.DESCRIPTION
    Creates <OutputRoot>\edu-harness-<yyyyMMdd-HHmmss>\ and stores in it:
      harness.json                  the harness report (edu-harness --device --json ...)
      harness-stderr.txt            the harness's error output
      verifier-query.txt            verifier /query (current Driver Verifier statistics)
      verifier-querysettings.txt    verifier /querysettings (what is being verified)
      wdf-verifier.txt              the KMDF verifier values under Services\edu_dma\Parameters\Wdf
      device.txt                    the edu device(s) as pnputil /enum-devices /deviceids lists them
    then prints the harness's summary line.

    Timeouts: the harness waits at most -RequestTimeout seconds (default 30) for any one request
    (edu-harness --timeout); a request that does not complete is reported and the harness exits
    with 1. The whole harness run is stopped after -TimeoutMinutes (default 60; with -Seconds,
    at least -Seconds plus 10 minutes). Windows may keep a process whose requests a driver never
    completes alive for several minutes while it cancels them; the script does not wait for that
    beyond 60 s after stopping it. Each diagnostic tool (verifier.exe, pnputil.exe) is stopped
    after 120 s.

    Exit codes: the harness's own, 0 = every scenario passed, 1 = a scenario failed or a request
    did not complete within its limit, 2 = the run could not start; and 3 = the harness did not
    finish within -TimeoutMinutes and was stopped; 4 = this script failed (message printed).

.PARAMETER HarnessPath
    Path of edu-harness.exe. Default: edu-harness.exe next to this script, else on PATH.

.PARAMETER Scenario
    Scenario names to run (default: all). info roundtrip ioctls invalid cancel concurrent stress
    pnp power (pnp disables and enables the device; power sleeps and hibernates the machine with
    a wake timer 30 s ahead: wake timers must be allowed by the power plan)

.PARAMETER Seed
    Seed for the harness's random choices (decimal or 0x-hex). Default: the harness's own.

.PARAMETER Iterations
    Bound of the stress scenario in iterations.

.PARAMETER Seconds
    Bound of the stress scenario in seconds.

.PARAMETER RequestTimeout
    Seconds the harness waits for any one request (edu-harness --timeout). Default 30.

.PARAMETER TimeoutMinutes
    Minutes after which the whole harness run is stopped. Default 60.

.PARAMETER OutputRoot
    Folder that receives the timestamped results folder. Default: .\results

.EXAMPLE
    .\Invoke-Harness.ps1

.EXAMPLE
    .\Invoke-Harness.ps1 -Scenario cancel,stress -Seconds 600 -Seed 0x1234

.NOTES
    Run from an elevated PowerShell: the device admits only SYSTEM and Administrators.
#>
[CmdletBinding()]
param(
    [string] $HarnessPath,
    [string[]] $Scenario = @(),
    [string] $Seed,
    [uint64] $Iterations,
    [uint64] $Seconds,
    [ValidateRange(1, 3600)] [int] $RequestTimeout = 30,
    [ValidateRange(1, 10080)] [int] $TimeoutMinutes = 60,
    [string] $OutputRoot = (Join-Path (Get-Location) 'results')
)

Set-StrictMode -Version Latest
$ErrorActionPreference = 'Stop'
# Any error of this script itself ends it with exit code 4 (1 and 2 belong to the harness).
trap {
    Write-Error -ErrorRecord $_ -ErrorAction Continue
    exit 4
}
Import-Module (Join-Path $PSScriptRoot 'EduDmaKit.psm1') -Force

# Runs a tool and saves its output; a failing tool is recorded, not fatal.
function Save-ToolOutput {
    param(
        [Parameter(Mandatory)] [string] $FilePath,
        [string[]] $ArgumentList = @(),
        [Parameter(Mandatory)] [string] $Destination
    )
    $saved = $ErrorActionPreference
    $ErrorActionPreference = 'Continue'
    try {
        $result = Invoke-Tool -FilePath $FilePath -ArgumentList $ArgumentList -AnyExitCode -TimeoutSeconds 120
        $output = @($result.Output) + "(exit code $($result.ExitCode))"
    } catch {
        $output = @("$FilePath could not be run: $_")
    } finally {
        $ErrorActionPreference = $saved
    }
    $output | Set-Content -LiteralPath $Destination -Encoding UTF8
}

Assert-Elevated -Purpose 'The edu device admits only SYSTEM and Administrators.'

if (-not $HarnessPath) {
    $beside = Join-Path $PSScriptRoot 'edu-harness.exe'
    if (Test-Path -LiteralPath $beside -PathType Leaf) {
        $HarnessPath = $beside
    } else {
        $onPath = Get-Command -Name 'edu-harness.exe' -CommandType Application -ErrorAction SilentlyContinue
        if ($null -eq $onPath) {
            throw 'edu-harness.exe not found: pass -HarnessPath, or put it next to this script or on PATH.'
        }
        $HarnessPath = @($onPath)[0].Source
    }
}
$HarnessPath = (Resolve-Path -LiteralPath $HarnessPath).Path

$stamp = Get-Date -Format 'yyyyMMdd-HHmmss'
$results = Join-Path $OutputRoot "edu-harness-$stamp"
New-Item -ItemType Directory -Path $results -Force | Out-Null

$arguments = @('--device', '--json')
foreach ($name in $Scenario) { $arguments += @('--scenario', $name) }
if ($Seed) { $arguments += @('--seed', $Seed) }
if ($PSBoundParameters.ContainsKey('Iterations')) { $arguments += @('--iterations', "$Iterations") }
if ($PSBoundParameters.ContainsKey('Seconds')) { $arguments += @('--seconds', "$Seconds") }

$json = Join-Path $results 'harness.json'
$stderr = Join-Path $results 'harness-stderr.txt'
$arguments += @('--timeout', "$RequestTimeout")
Write-Host "Running: $HarnessPath $($arguments -join ' ')"
$limitMinutes = $TimeoutMinutes
if ($PSBoundParameters.ContainsKey('Seconds')) {
    $limitMinutes = [Math]::Max($limitMinutes, [int][Math]::Ceiling($Seconds / 60) + 10)
}
# Start-Process keeps the harness's stdout (the JSON) and stderr apart and gives its exit code;
# WaitForExit bounds the wait (Start-Process -Wait has no limit).
$process = Start-Process -FilePath $HarnessPath -ArgumentList $arguments -NoNewWindow -PassThru `
    -RedirectStandardOutput $json -RedirectStandardError $stderr
# Reading Handle keeps the process handle open, so ExitCode is still there after exit.
$null = $process.Handle
if ($process.WaitForExit($limitMinutes * 60 * 1000)) {
    $process.WaitForExit()
    $exitCode = $process.ExitCode
} else {
    Write-Warning "The harness did not finish within $limitMinutes minutes; stopping it."
    try { $process.Kill() } catch { Write-Warning "Stopping it failed: $_" }
    if (-not $process.WaitForExit(60 * 1000)) {
        Write-Warning 'It is still there after 60 s: Windows is cancelling requests the driver has not completed.'
    }
    "Stopped by Invoke-Harness.ps1 after $limitMinutes minutes." | Add-Content -LiteralPath $stderr -Encoding UTF8
    $exitCode = 3
}

Save-ToolOutput -FilePath 'verifier.exe' -ArgumentList @('/query') -Destination (Join-Path $results 'verifier-query.txt')
Save-ToolOutput -FilePath 'verifier.exe' -ArgumentList @('/querysettings') -Destination (Join-Path $results 'verifier-querysettings.txt')

$wdf = 'HKLM:\SYSTEM\CurrentControlSet\Services\edu_dma\Parameters\Wdf'
$wdfFile = Join-Path $results 'wdf-verifier.txt'
if (Test-Path -LiteralPath $wdf) {
    $key = Get-Item -LiteralPath $wdf
    $key.GetValueNames() | ForEach-Object { '{0} = {1}' -f $_, (@($key.GetValue($_)) -join ', ') } |
        Set-Content -LiteralPath $wdfFile -Encoding UTF8
} else {
    "No KMDF verifier values ($wdf does not exist)." | Set-Content -LiteralPath $wdfFile -Encoding UTF8
}

$devicesFile = Join-Path $results 'device.txt'
Save-ToolOutput -FilePath 'pnputil.exe' -ArgumentList @('/enum-devices', '/deviceids') -Destination $devicesFile
$lines = @(Get-Content -LiteralPath $devicesFile)
$blocks = @(($lines -join "`n") -split "`n\s*`n" | Where-Object { $_ -match 'VEN_1234&DEV_11E8' })
if ($blocks.Count -eq 0) { $blocks = @('No edu device (PCI\VEN_1234&DEV_11E8) found.') }
$blocks | Set-Content -LiteralPath $devicesFile -Encoding UTF8

Write-Host "Results: $results"
$report = $null
$text = Get-Content -LiteralPath $json -Raw -ErrorAction SilentlyContinue
if ($text) {
    try { $report = $text | ConvertFrom-Json } catch { $report = $null }
}
if ($null -ne $report -and $report.PSObject.Properties.Name -contains 'summary') {
    foreach ($scenarioResult in $report.scenarios) {
        $verdict = if ($scenarioResult.passed) { 'PASS' } else { 'FAIL' }
        Write-Host ("{0} {1,-11} {2,12} B {3,7} fragments" -f $verdict, $scenarioResult.name, $scenarioResult.bytes, $scenarioResult.fragments)
        if ($scenarioResult.message) { Write-Host "     $($scenarioResult.message)" }
    }
    if ($report.finish) { Write-Host "FAIL finish: $($report.finish)" }
    Write-Host $report.summary
} elseif ($null -ne $report -and $report.PSObject.Properties.Name -contains 'error') {
    Write-Warning "The harness could not start: $($report.error)"
} else {
    Write-Warning "The harness produced no report; see $stderr"
}

exit $exitCode
