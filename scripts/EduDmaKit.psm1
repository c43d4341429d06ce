<#
.SYNOPSIS
    Helpers shared by the test-machine scripts: elevation check, native-tool runner, and the
    splitter for pnputil listings.
.NOTES
    Imported by every script in this folder with Import-Module; not meant to be run directly.
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

# Runs a native tool and returns its exit code and output lines; throws when the exit code is
# not one of $SuccessCodes, with the tool's output in the message.
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

Export-ModuleMember -Function Assert-Elevated, Invoke-Tool, Split-Blocks
