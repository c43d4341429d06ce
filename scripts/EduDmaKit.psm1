<#
.SYNOPSIS
    Helpers shared by the test-machine scripts: elevation check, native-tool runner, and the
    splitter for pnputil listings.
.NOTES
    Imported by every script in this folder with Import-Module; not meant to be run directly.
    Timeouts: Invoke-Tool stops a native tool that has not finished after -TimeoutSeconds
    (default 300 s) and throws. Exit codes: none of its own (a module); the functions throw.
#>
Set-StrictMode -Version Latest

# Throws unless the current process runs elevated; $Purpose says why elevation is needed.
function Assert-Elevated {
    param([Parameter(Mandatory)] [string] $Purpose)
    $principal = [Security.Principal.WindowsPrincipal]::new([Security.Principal.WindowsIdentity]::GetCurrent())
    if (-not $principal.IsInRole([Security.Principal.WindowsBuiltInRole]::Administrator)) {
        throw "$Purpose Run this script from an elevated PowerShell (Run as administrator)."
    }
}

# Quotes one argument for a Windows command line (CommandLineToArgvW rules).
function ConvertTo-CommandLineArgument {
    param([Parameter(Mandatory)] [AllowEmptyString()] [string] $Argument)
    if ($Argument -ne '' -and $Argument -notmatch '[\s"]') { return $Argument }
    $escaped = $Argument -replace '(\\*)"', '$1$1\"' -replace '(\\+)$', '$1$1'
    '"' + $escaped + '"'
}

# Runs a native tool and returns its exit code and output lines; throws when the exit code is
# not one of $SuccessCodes (unless -AnyExitCode), with the tool's output in the message, and when
# the tool has not finished after $TimeoutSeconds (default 300), after stopping it.
function Invoke-Tool {
    param(
        [Parameter(Mandatory)] [string] $FilePath,
        [string[]] $ArgumentList = @(),
        [int[]] $SuccessCodes = @(0),
        [ValidateRange(1, 86400)] [int] $TimeoutSeconds = 300,
        [switch] $AnyExitCode
    )
    $stdout = [IO.Path]::GetTempFileName()
    $stderr = [IO.Path]::GetTempFileName()
    try {
        $line = @($ArgumentList | ForEach-Object { ConvertTo-CommandLineArgument -Argument $_ }) -join ' '
        $startArgs = @{
            FilePath               = $FilePath
            NoNewWindow            = $true
            PassThru               = $true
            RedirectStandardOutput = $stdout
            RedirectStandardError  = $stderr
        }
        if ($line) { $startArgs.ArgumentList = $line }
        $process = Start-Process @startArgs
        # Reading Handle keeps the process handle open, so ExitCode is still there after exit.
        $null = $process.Handle
        if (-not $process.WaitForExit($TimeoutSeconds * 1000)) {
            try { $process.Kill() } catch { Write-Verbose "Kill: $_" }
            throw "$FilePath $line did not finish within $TimeoutSeconds s and was stopped."
        }
        $process.WaitForExit()
        $code = $process.ExitCode
        $output = @(Get-Content -LiteralPath $stdout) + @(Get-Content -LiteralPath $stderr)
    } finally {
        Remove-Item -LiteralPath $stdout, $stderr -ErrorAction SilentlyContinue
    }
    if (-not $AnyExitCode -and $SuccessCodes -notcontains $code) {
        throw "$FilePath $line failed with exit code $code.`n$($output -join [Environment]::NewLine)"
    }
    [pscustomobject]@{ ExitCode = $code; Output = $output }
}

# Splits pnputil's listing into one text block per device or driver (blocks are separated by
# blank lines in every display language).
function Split-Blocks {
    param([string[]] $Lines)
    $blocks = [System.Collections.Generic.List[string]]::new()
    $current = [System.Collections.Generic.List[string]]::new()
    foreach ($line in $Lines) {
        if ($line.Trim() -eq '') {
            if ($current.Count -gt 0) { $blocks.Add($current -join [Environment]::NewLine); $current.Clear() }
        } else {
            $current.Add($line)
        }
    }
    if ($current.Count -gt 0) { $blocks.Add($current -join [Environment]::NewLine) }
    $blocks.ToArray()
}

# An array literal, not `-Function A, B, C`: same meaning, but the tree-sitter grammar the CI
# syntax check uses rejects comma-separated command arguments (scripts/ci/check_powershell.py).
Export-ModuleMember -Function @('Assert-Elevated', 'Invoke-Tool', 'Split-Blocks')
