<#
.SYNOPSIS
    Runs the WDK's Device Fundamentals (DevFund) PnP and sleep tests on the edu device through
    TAEF, with edu-harness driving I/O beside them, and collects everything into one folder.

.DESCRIPTION
    Written from Microsoft's "How to run the DevFund tests via the command line", the
    per-test pages of the HLK test reference (test binary, test method, parameters) and
    "Te.exe command options". It has not been run: no Windows machine with the WDK was
    available where it was written (see docs/test-machine.md, "Device Fundamentals").

    1. Optional (-InstallPrerequisites): installs and starts the TAEF service
       (wex.services.exe /install:te.service; sc start te.service) and installs the WDTF
       runtime MSI for x64, as Microsoft's page describes.
    2. Finds the device under test: -InstancePath, or the first present
       PCI\VEN_1234&DEV_11E8 device.
    3. Checks that Driver Verifier covers edu_dma.sys (Enable-Verifier.ps1; the DevFund PnP
       tests are meant to run under it), unless -SkipVerifierCheck.
    4. For each selected case: checks with Te.exe /list that the binary holds the method, then
         Te.exe <binary> /name:"<method>" /p:"DQ=DeviceID='<instance path>'"
                /RebootStateFile:<folder>\state.xml /enableWttLogging /logFile:<case>.wtl
                /miniDumpOnCrash
       with edu-harness beside it. Cases that remove the device (disable, remove, surprise
       removal, cancel-remove) get the harness before and after (roundtrip and concurrent
       scenarios): Windows refuses to remove a device that a program holds open, so I/O during
       them would make the test fail. Cases that stop it (rebalance) or sleep the system get
       the harness during the case (stress scenario for -HarnessSeconds) and after it.
    5. Last, DisableEnhancedDeviceTestingSupport removes the test filter (msdmfilt.sys) the
       PnP cases installed.
    6. Collects verifier /query and /querysettings, the KMDF verifier values, the device's
       state (pnputil), and any crash dump written since the run started (MEMORY.DMP,
       Minidump\*.dmp) into the results folder, and writes summary.txt.

    Results folder: <OutputRoot>\devfund-<yyyyMMdd-HHmmss>\ with, per case, <case>.te.txt
    (Te.exe output), <case>.wtl (TAEF log), <case>.harness-*.json and .stderr.txt; plus
    state.xml, verifier-*.txt, wdf-verifier.txt, device.txt, dumps\ and summary.txt.

    Some cases may restart the machine (when the test filter cannot be added without a
    reboot). Run the script again with -Resume <results folder> after the restart: TAEF
    continues from state.xml.

    Timeouts: each Te.exe case is stopped after -CaseTimeoutMinutes (default 90; Microsoft
    lists 45 minutes for the PnP cases and up to 180 for the reliability sleep cases, so raise
    it for those). Each harness run is stopped after -HarnessSeconds plus 10 minutes; the
    harness itself waits at most 30 s for any one request. Tools (verifier.exe, pnputil.exe,
    sc.exe, Te.exe /list) are stopped after 120 s; msiexec after 600 s.

    Exit codes: 0 every selected case and every harness run passed; 1 a case or a harness run
    failed; 2 the run could not start (no device, no Te.exe or DevFund tests, Driver Verifier
    off); 3 a case or harness run did not finish within its limit and was stopped; 4 this
    script failed (message printed).

.PARAMETER InstancePath
    Device instance path of the device under test (Device Manager > Details > Device instance
    path). Default: the first present PCI\VEN_1234&DEV_11E8 device.

.PARAMETER Case
    Names of the cases to run (see the table in the script; default: all), e.g.
    SurpriseRemove, Rebalance, RebalanceNewResources, DisableEnable, Sleep.

.PARAMETER KitRoot
    Windows Kits root. Default: ${env:ProgramFiles(x86)}\Windows Kits\10.

.PARAMETER InstallPrerequisites
    Install and start the TAEF service and install the WDTF runtime first.

.PARAMETER HarnessPath
    Path of edu-harness.exe. Default: next to this script, else on PATH. Without it (and with
    -NoHarness) the cases run without our I/O.

.PARAMETER NoHarness
    Run the cases without edu-harness.

.PARAMETER HarnessSeconds
    Length of the stress run beside a stop or sleep case. Default 300.

.PARAMETER CaseTimeoutMinutes
    Minutes after which one Te.exe case is stopped. Default 90.

.PARAMETER SkipVerifierCheck
    Run even if Driver Verifier does not cover edu_dma.sys.

.PARAMETER OutputRoot
    Folder that receives the timestamped results folder. Default: .\results

.PARAMETER Resume
    A results folder of an earlier run that restarted the machine: continue there.

.EXAMPLE
    .\Invoke-DeviceFundamentals.ps1 -InstallPrerequisites

.EXAMPLE
    .\Invoke-DeviceFundamentals.ps1 -Case Rebalance,RebalanceNewResources -HarnessSeconds 600

.NOTES
    Run from an elevated PowerShell on the test machine, with the driver installed and test
    signing and Driver Verifier on (Enable-TestSigning.ps1, Install-Driver.ps1,
    Enable-Verifier.ps1). Configure the machine as Microsoft's page asks: full memory dumps
    (or a kernel debugger), never sleep on its own, display never off, automatic logon.
#>
[CmdletBinding()]
param(
    [string] $InstancePath,
    [string[]] $Case = @(),
    [string] $KitRoot = (Join-Path ${env:ProgramFiles(x86)} 'Windows Kits\10'),
    [switch] $InstallPrerequisites,
    [string] $HarnessPath,
    [switch] $NoHarness,
    [ValidateRange(10, 86400)] [int] $HarnessSeconds = 300,
    [ValidateRange(1, 1440)] [int] $CaseTimeoutMinutes = 90,
    [switch] $SkipVerifierCheck,
    [string] $OutputRoot = (Join-Path (Get-Location) 'results'),
    [string] $Resume
)

Set-StrictMode -Version Latest
$ErrorActionPreference = 'Stop'
trap {
    Write-Error -ErrorRecord $_ -ErrorAction Continue
    exit 4
}
Import-Module (Join-Path $PSScriptRoot 'EduDmaKit.psm1') -Force

# The cases: DevFund binary (without extension), TAEF method, how the harness runs beside it
# ('During' or 'Around' the case), and what the case exercises in this driver.
$cases = @(
    [pscustomobject]@{ Name = 'Rebalance'; Binary = 'Devfund_PnPDTest'; Method = 'PNPTryStopAndRestartDevice'; Harness = 'During'
        Proves = 'query-stop, stop (EvtIoStop, D0 exit, release hardware) and start with the same resources while I/O is held' }
    [pscustomobject]@{ Name = 'RebalanceNewResources'; Binary = 'Devfund_PnPDTest'; Method = 'PNPTryStopDeviceRequestNewResourcesAndRestartDevice'; Harness = 'During'
        Proves = 'a stop and a start with other resources: nothing from the old BAR, interrupt or adapter survives' }
    [pscustomobject]@{ Name = 'CancelStop'; Binary = 'Devfund_PnPDTest'; Method = 'PNPCancelStopDevice'; Harness = 'During'
        Proves = 'query-stop then cancel-stop: the device keeps working' }
    [pscustomobject]@{ Name = 'DisableEnable'; Binary = 'Devfund_PnPDTest'; Method = 'PNPDisableAndEnableDevice'; Harness = 'Around'
        Proves = 'removal and a new device add: every object released and recreated' }
    [pscustomobject]@{ Name = 'RemoveRestart'; Binary = 'Devfund_PnPDTest'; Method = 'PNPRemoveAndRestartDevice'; Harness = 'Around'
        Proves = 'query-remove and remove completed successfully, then a restart' }
    [pscustomobject]@{ Name = 'CancelRemove'; Binary = 'Devfund_PnPDTest'; Method = 'PNPCancelRemoveDevice'; Harness = 'Around'
        Proves = 'query-remove then cancel-remove: the device keeps working' }
    [pscustomobject]@{ Name = 'SurpriseRemove'; Binary = 'Devfund_PnPDTest'; Method = 'PNPSurpriseRemoveAndRestartDevice'; Harness = 'Around'
        Proves = 'surprise removal then remove, both completed successfully; the device comes back' }
    [pscustomobject]@{ Name = 'PnpWithIo'; Binary = 'Devfund_PNP_DisableEnable_With_IO_BeforeAndAfter'; Method = 'PNP_DisableEnable_With_IO_Before_And_After'; Harness = 'Around'
        Proves = 'disable and enable cycles with the device working before and after' }
    [pscustomobject]@{ Name = 'Sleep'; Binary = 'Devfund_Sleep_With_IO_BeforeAndAfter'; Method = 'Sleep_With_IO_Before_And_After'; Harness = 'During'
        Proves = 'each supported sleep state (S3, S4) and resume with I/O before and after' }
    [pscustomobject]@{ Name = 'SleepPnp'; Binary = 'Devfund_Sleep_PNP_DisableEnable_With_IO_BeforeAndAfter'; Method = 'Sleep_PNP_DisableEnable_With_IO_Before_And_After'; Harness = 'Around'
        Proves = 'sleep states, then disable and enable, with I/O between' }
)
$cleanup = [pscustomobject]@{ Name = 'DisableEDT'; Binary = 'Devfund_PnPDTest'; Method = 'DisableEnhancedDeviceTestingSupport'; Harness = 'None'
    Proves = 'removes the test filter driver (msdmfilt.sys) the PnP cases installed' }

Assert-Elevated -Purpose 'The DevFund tests install a filter driver and change device and power state.'

# --- Where things are. ---
$taef = Join-Path $KitRoot 'Testing\Runtimes\TAEF\x64'
$te = Join-Path $taef 'Te.exe'
$testsDir = Join-Path $KitRoot 'Testing\Tests\Additional Tests\x64\DevFund'

if ($Resume) {
    $results = (Resolve-Path -LiteralPath $Resume).Path
} else {
    $stamp = Get-Date -Format 'yyyyMMdd-HHmmss'
    $results = Join-Path $OutputRoot "devfund-$stamp"
    New-Item -ItemType Directory -Path $results -Force | Out-Null
}
$startedAt = Get-Date
$summary = Join-Path $results 'summary.txt'
"Device Fundamentals run, started $startedAt" | Add-Content -LiteralPath $summary -Encoding UTF8

function Write-Summary {
    param([Parameter(Mandatory)] [string] $Line)
    Write-Host $Line
    $Line | Add-Content -LiteralPath $summary -Encoding UTF8
}

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

# --- 1. Prerequisites. ---
if ($InstallPrerequisites) {
    $services = Join-Path $taef 'wex.services.exe'
    Invoke-Tool -FilePath $services -ArgumentList @('/install:te.service') -TimeoutSeconds 120 | Out-Null
    Invoke-Tool -FilePath 'sc.exe' -ArgumentList @('start', 'te.service') -SuccessCodes @(0, 1056) -TimeoutSeconds 120 | Out-Null
    $msi = Join-Path $KitRoot 'Testing\Runtimes\Windows Driver Testing Framework (WDTF) Runtime Libraries-x64_en-us.msi'
    if (-not (Test-Path -LiteralPath $msi -PathType Leaf)) {
        Write-Summary "could not start: WDTF runtime MSI not found at $msi"
        exit 2
    }
    $msiLog = Join-Path $results 'wdtf-install.log'
    Invoke-Tool -FilePath 'msiexec.exe' -ArgumentList @('/i', $msi, '/qn', '/l*', $msiLog) -SuccessCodes @(0, 3010) -TimeoutSeconds 600 | Out-Null
    Write-Summary 'TAEF service installed and started; WDTF runtime installed.'
}
if (-not (Test-Path -LiteralPath $te -PathType Leaf)) {
    Write-Summary "could not start: Te.exe not found at $te (install the WDK, or pass -KitRoot)"
    exit 2
}
$query = Invoke-Tool -FilePath 'sc.exe' -ArgumentList @('query', 'te.service') -AnyExitCode -TimeoutSeconds 120
if (-not (($query.Output -join ' ') -match 'RUNNING')) {
    Write-Summary 'could not start: te.service is not running (run with -InstallPrerequisites)'
    exit 2
}

# --- 2. The device. ---
if (-not $InstancePath) {
    $device = @(Get-PnpDevice -PresentOnly -ErrorAction SilentlyContinue |
            Where-Object { $_.InstanceId -like 'PCI\VEN_1234&DEV_11E8*' })
    if ($device.Count -eq 0) {
        Write-Summary 'could not start: no present PCI\VEN_1234&DEV_11E8 device (pass -InstancePath)'
        exit 2
    }
    $InstancePath = $device[0].InstanceId
}
Write-Summary "device under test: $InstancePath"

# --- 3. Driver Verifier. ---
$settings = Invoke-Tool -FilePath 'verifier.exe' -ArgumentList @('/querysettings') -AnyExitCode -TimeoutSeconds 120
if (-not (($settings.Output -join ' ') -match 'edu_dma\.sys')) {
    if ($SkipVerifierCheck) {
        Write-Summary 'warning: Driver Verifier does not cover edu_dma.sys (-SkipVerifierCheck given)'
    } else {
        Write-Summary 'could not start: Driver Verifier does not cover edu_dma.sys (run Enable-Verifier.ps1 and reboot, or pass -SkipVerifierCheck)'
        exit 2
    }
}

# --- The harness. ---
if (-not $NoHarness -and -not $HarnessPath) {
    $beside = Join-Path $PSScriptRoot 'edu-harness.exe'
    if (Test-Path -LiteralPath $beside -PathType Leaf) {
        $HarnessPath = $beside
    } else {
        $onPath = Get-Command -Name 'edu-harness.exe' -CommandType Application -ErrorAction SilentlyContinue
        if ($null -ne $onPath) { $HarnessPath = @($onPath)[0].Source }
    }
    if (-not $HarnessPath) {
        Write-Summary 'could not start: edu-harness.exe not found (pass -HarnessPath, or -NoHarness)'
        exit 2
    }
}

# Starts edu-harness on the device; returns the process and its report paths.
function Start-Harness {
    param(
        [Parameter(Mandatory)] [string] $Tag,
        [Parameter(Mandatory)] [string[]] $Scenarios,
        [int] $Seconds = 0
    )
    $arguments = @('--device', '--json', '--quiet', '--timeout', '30')
    foreach ($name in $Scenarios) { $arguments += @('--scenario', $name) }
    if ($Seconds -gt 0) { $arguments += @('--seconds', "$Seconds") }
    $json = Join-Path $results "$Tag.json"
    $stderr = Join-Path $results "$Tag.stderr.txt"
    $process = Start-Process -FilePath $HarnessPath -ArgumentList $arguments -NoNewWindow -PassThru `
        -RedirectStandardOutput $json -RedirectStandardError $stderr
    # Reading Handle keeps the process handle open, so ExitCode is still there after exit.
    $null = $process.Handle
    [pscustomobject]@{ Process = $process; Tag = $Tag; Limit = $Seconds + 600 }
}

# Waits for a harness run; returns 'pass', 'fail' or 'timeout'.
function Wait-Harness {
    param([Parameter(Mandatory)] $Run)
    if (-not $Run.Process.WaitForExit($Run.Limit * 1000)) {
        try { $Run.Process.Kill() } catch { Write-Verbose "Kill: $_" }
        Write-Summary "  harness $($Run.Tag): stopped after $($Run.Limit) s"
        return 'timeout'
    }
    $Run.Process.WaitForExit()
    $code = $Run.Process.ExitCode
    Write-Summary "  harness $($Run.Tag): exit code $code"
    if ($code -eq 0) { 'pass' } else { 'fail' }
}

# Runs a short harness check (roundtrip and concurrent) and waits for it.
function Invoke-HarnessCheck {
    param([Parameter(Mandatory)] [string] $Tag)
    if ($NoHarness) { return 'pass' }
    Wait-Harness -Run (Start-Harness -Tag $Tag -Scenarios @('roundtrip', 'concurrent'))
}

# --- 4. The cases. ---
$selected = if ($Case.Count -gt 0) {
    foreach ($name in $Case) {
        $found = @($cases | Where-Object { $_.Name -eq $name })
        if ($found.Count -eq 0) {
            throw "unknown case '$name'; known: $(($cases | ForEach-Object { $_.Name }) -join ', ')"
        }
        $found[0]
    }
} else {
    $cases
}
$selected = @($selected) + $cleanup
$stateFile = Join-Path $results 'state.xml'
$worst = 0

foreach ($item in $selected) {
    $binary = @('dll', 'wsc') | ForEach-Object { Join-Path $testsDir "$($item.Binary).$_" } |
        Where-Object { Test-Path -LiteralPath $_ -PathType Leaf } | Select-Object -First 1
    if (-not $binary) {
        Write-Summary "SKIP $($item.Name): $($item.Binary) not found in $testsDir"
        $worst = [Math]::Max($worst, 1)
        continue
    }
    $listed = Invoke-Tool -FilePath $te -ArgumentList @($binary, '/list', "/name:*$($item.Method)*") -AnyExitCode -TimeoutSeconds 120
    if (-not (($listed.Output -join ' ') -match [regex]::Escape($item.Method))) {
        Write-Summary "SKIP $($item.Name): $($item.Method) is not a test of $binary in this kit (its name may differ; see Te.exe $binary /list)"
        $worst = [Math]::Max($worst, 1)
        continue
    }
    Write-Summary "RUN  $($item.Name): $($item.Method) ($($item.Proves))"
    $verdicts = @()
    if ($item.Harness -eq 'Around') { $verdicts += Invoke-HarnessCheck -Tag "$($item.Name).harness-before" }
    $during = $null
    if ($item.Harness -eq 'During' -and -not $NoHarness) {
        $during = Start-Harness -Tag "$($item.Name).harness-during" -Scenarios @('stress') -Seconds $HarnessSeconds
    }
    $teArgs = @(
        $binary,
        "/name:$($item.Method)",
        "/p:DQ=DeviceID='$InstancePath'",
        "/RebootStateFile:$stateFile",
        '/enableWttLogging',
        "/logFile:$(Join-Path $results "$($item.Name).wtl")",
        '/miniDumpOnCrash'
    )
    $caseVerdict = 'fail'
    $teOutput = Join-Path $results "$($item.Name).te.txt"
    try {
        $run = Invoke-Tool -FilePath $te -ArgumentList $teArgs -AnyExitCode -TimeoutSeconds ($CaseTimeoutMinutes * 60)
        $run.Output + "(exit code $($run.ExitCode))" | Set-Content -LiteralPath $teOutput -Encoding UTF8
        $text = $run.Output -join "`n"
        # TAEF ends with "Summary: Total=N, Passed=P, Failed=F, Blocked=B, Not Run=R, Skipped=S".
        if ($run.ExitCode -eq 0 -and $text -match 'Passed=([1-9]\d*), Failed=0, Blocked=0') {
            $caseVerdict = 'pass'
        }
    } catch {
        "$_" | Set-Content -LiteralPath $teOutput -Encoding UTF8
        $caseVerdict = if ("$_" -match 'did not finish within') { 'timeout' } else { 'fail' }
    }
    $verdicts += $caseVerdict
    if ($null -ne $during) { $verdicts += Wait-Harness -Run $during }
    if ($item.Harness -ne 'None') { $verdicts += Invoke-HarnessCheck -Tag "$($item.Name).harness-after" }
    $label = if ($verdicts -contains 'timeout') { 'TIME' } elseif ($verdicts -contains 'fail') { 'FAIL' } else { 'PASS' }
    Write-Summary "$label $($item.Name): case $caseVerdict (all verdicts: $($verdicts -join ', '))"
    if ($verdicts -contains 'timeout') { $worst = [Math]::Max($worst, 3) }
    elseif ($verdicts -contains 'fail') { $worst = [Math]::Max($worst, 1) }
}

# --- 6. Collect. ---
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
Save-ToolOutput -FilePath 'pnputil.exe' -ArgumentList @('/enum-devices', '/instanceid', $InstancePath, '/problem') -Destination (Join-Path $results 'device.txt')
$dumps = Join-Path $results 'dumps'
$candidates = @(Join-Path $env:SystemRoot 'MEMORY.DMP') +
    @(Get-ChildItem -Path (Join-Path $env:SystemRoot 'Minidump') -Filter '*.dmp' -ErrorAction SilentlyContinue |
        ForEach-Object { $_.FullName })
foreach ($dump in $candidates) {
    if ((Test-Path -LiteralPath $dump -PathType Leaf) -and (Get-Item -LiteralPath $dump).LastWriteTime -ge $startedAt) {
        New-Item -ItemType Directory -Path $dumps -Force | Out-Null
        Copy-Item -LiteralPath $dump -Destination $dumps
        Write-Summary "crash dump collected: $dump"
        $worst = [Math]::Max($worst, 1)
    }
}

Write-Summary "Results: $results"
exit $worst
