<#
.SYNOPSIS
    Removes the edu DMA driver from the driver store and from every device using it.

.DESCRIPTION
    Finds the published name (oemNN.inf) of every driver-store package whose original name is
    edu_dma.inf (pnputil /enum-drivers) and deletes it with
    pnputil /delete-driver oemNN.inf /uninstall /force. Devices that used it fall back to no
    driver ("Other devices" in Device Manager).

    Commands as documented on Microsoft Learn: "PnPUtil command syntax", "Certutil".

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

function Assert-Elevated {
    $principal = [Security.Principal.WindowsPrincipal]::new([Security.Principal.WindowsIdentity]::GetCurrent())
    if (-not $principal.IsInRole([Security.Principal.WindowsBuiltInRole]::Administrator)) {
        throw 'Removing a driver needs administrator rights: run this script from an elevated PowerShell.'
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

# Splits pnputil's listing into one text block per driver (blank-line separated).
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

Assert-Elevated

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
