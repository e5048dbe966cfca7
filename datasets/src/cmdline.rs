//! Command lines as they appear on real endpoints: mostly short and repetitive, with a long
//! tail of encoded PowerShell (`-enc <base64 of UTF-16LE>`) up to 16,000 characters.

use crate::rng::Rng;
use crate::world::{CmdKind, Host, World, IMAGES};

/// Upper bound for any generated command line (keeps every record inside one EVTX chunk).
pub const MAX_CMDLINE: usize = 16_000;

/// Standard base64 (with padding).
pub fn base64(data: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for c in data.chunks(3) {
        let b = [c[0], *c.get(1).unwrap_or(&0), *c.get(2).unwrap_or(&0)];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        out.push(T[(n >> 18) as usize & 63] as char);
        out.push(T[(n >> 12) as usize & 63] as char);
        out.push(if c.len() > 1 {
            T[(n >> 6) as usize & 63] as char
        } else {
            '='
        });
        out.push(if c.len() > 2 {
            T[n as usize & 63] as char
        } else {
            '='
        });
    }
    out
}

/// `-enc` payload: base64 of the UTF-16LE script, as PowerShell expects.
pub fn encode_powershell(script: &str) -> String {
    let bytes: Vec<u8> = script.encode_utf16().flat_map(u16::to_le_bytes).collect();
    base64(&bytes)
}

const PS_STATEMENTS: &[&str] = &[
    "$ErrorActionPreference = 'SilentlyContinue'",
    "Get-Service | Where-Object {$_.Status -eq 'Running'} | Select-Object Name, DisplayName",
    "$wc = New-Object System.Net.WebClient",
    "Invoke-RestMethod -Uri $uri -Method Post -Body ($report | ConvertTo-Json -Depth 4)",
    "Get-ChildItem -Path $env:TEMP -Recurse -Force | Where-Object {$_.LastWriteTime -lt (Get-Date).AddDays(-7)} | Remove-Item -Force",
    "[System.Text.Encoding]::UTF8.GetString([System.Convert]::FromBase64String($blob))",
    "Start-Sleep -Seconds 5",
    "Get-CimInstance Win32_OperatingSystem | Select-Object Caption, Version, LastBootUpTime",
    "foreach ($i in 1..10) { Write-Output \"step $i\" }",
    "Get-NetIPAddress -AddressFamily IPv4 | Select-Object IPAddress, InterfaceAlias",
    "Get-NetAdapter | Format-List Name, Status, LinkSpeed",
    "Get-Process | Sort-Object CPU -Descending | Select-Object -First 10",
    "Test-NetConnection -ComputerName $server -Port 443 -InformationLevel Quiet",
    "$h = @{}; $h['host'] = $env:COMPUTERNAME; $h['user'] = $env:USERNAME",
    "Set-ItemProperty -Path 'HKCU:\\Software\\Contoso\\Agent' -Name 'LastRun' -Value (Get-Date -Format o)",
    "Get-HotFix | Sort-Object InstalledOn -Descending | Select-Object -First 5",
    "Get-LocalGroupMember -Group 'Administrators'",
    "$acl = Get-Acl -Path 'C:\\ProgramData\\Contoso'; $acl.Access | Format-Table -AutoSize",
    "Compress-Archive -Path \"$env:USERPROFILE\\Documents\\Berichte\" -DestinationPath \"$env:TEMP\\archiv-ä.zip\" -Force",
    "Write-Host 'Fertig – Überprüfung abgeschlossen'",
];

/// A PowerShell script of about `len` characters, on one line (statements joined with `; `).
pub fn powershell_script(rng: &mut Rng, len: usize) -> String {
    let mut s = String::with_capacity(len + 200);
    while s.len() < len {
        if !s.is_empty() {
            s.push_str("; ");
        }
        s.push_str(PS_STATEMENTS[rng.index(PS_STATEMENTS.len())]);
    }
    s
}

fn hex(rng: &mut Rng, n: usize) -> String {
    (0..n)
        .map(|_| char::from(b"0123456789abcdef"[rng.index(16)]))
        .collect()
}

/// Short, common PowerShell command lines (never mentioning Get-NetTcpConnection).
const PS_SHORT: &[&str] = &[
    "powershell.exe -NoProfile -ExecutionPolicy Bypass -File C:\\ProgramData\\Contoso\\inventory.ps1",
    "\"C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe\" -NoLogo -NonInteractive -Command \"Get-Service | Where-Object {$_.Status -eq 'Stopped'}\"",
    "powershell.exe -c Get-NetAdapter",
    "powershell.exe Get-NetIPConfiguration",
    "\"C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe\"",
    "powershell -ExecutionPolicy RemoteSigned -Command \"& 'C:\\Program Files\\Contoso\\Agent\\update.ps1' -Quiet\"",
    "powershell.exe -NoProfile -Command \"Get-WinEvent -LogName System -MaxEvents 20 | Format-Table -Wrap\"",
    "PowerShell.exe -ExecutionPolicy Bypass -NoProfile -WindowStyle Hidden -Command Get-Date",
];

/// Builds a command line for catalog image `img`, run by a user with profile name `user`.
pub fn command_line(rng: &mut Rng, world: &World, host: &Host, img: usize, user: &str) -> String {
    let image = &IMAGES[img];
    let path = image.path;
    let line = match image.kind {
        CmdKind::Fixed => image.fixed.to_string(),
        CmdKind::Svchost => {
            let (k, s) = *rng.pick(&[
                ("netsvcs", "Schedule"),
                ("LocalServiceNetworkRestricted", "Dhcp"),
                ("NetworkService", "Dnscache"),
                ("LocalSystemNetworkRestricted", "SysMain"),
                ("DcomLaunch", "BrokerInfrastructure"),
                ("wsappx", "ClipSVC"),
                ("UnistackSvcGroup", "CDPUserSvc_5f1c2"),
                ("netsvcs", "gpsvc"),
            ]);
            if rng.chance(0.2) {
                format!("C:\\Windows\\system32\\svchost.exe -k {k}")
            } else {
                format!("C:\\Windows\\system32\\svchost.exe -k {k} -p -s {s}")
            }
        }
        CmdKind::Browser => match rng.below(4) {
            0 => format!("\"{path}\""),
            1 => format!("\"{path}\" --single-argument https://intranet.{}/portal/?q=%C3%BCbersicht", world.dns_domain),
            _ => format!(
                "\"{path}\" --type=renderer --field-trial-handle={},i,{},{},262144 --lang=en-US --device-scale-factor=1 --num-raster-threads=4 --enable-main-frame-before-activation --renderer-client-id={} --time-ticks-at-unix-epoch=-{} --launch-time-ticks={} --mojo-platform-channel-handle={} /prefetch:1",
                rng.range(1000, 9999),
                rng.next_u64(),
                rng.next_u64() % 100_000_000,
                rng.range(5, 400),
                rng.range(1_600_000_000_000_000, 1_700_000_000_000_000),
                rng.range(1_000_000, 99_999_999),
                rng.range(1000, 9999)
            ),
        },
        CmdKind::Cmd => match rng.below(6) {
            0 => "C:\\Windows\\system32\\cmd.exe /c \"echo %date% %time% >> C:\\Windows\\Temp\\heartbeat.log\"".to_string(),
            1 => format!("cmd.exe /c dir /s /b \"C:\\Users\\{user}\\Documents\""),
            2 => format!("\"C:\\Windows\\system32\\cmd.exe\" /c ping -n 1 {}", host.fqdn),
            3 => "cmd /c \"C:\\ProgramData\\Contoso\\backup.bat\" > nul 2>&1".to_string(),
            4 => "C:\\Windows\\system32\\cmd.exe /d /c \"git status --porcelain\"".to_string(),
            _ => "\"C:\\Windows\\system32\\cmd.exe\"".to_string(),
        },
        CmdKind::PowerShell => {
            let r = rng.unit();
            if r < 0.55 {
                rng.pick(PS_SHORT).to_string()
            } else {
                let len = if r < 0.85 {
                    rng.range(80, 600)
                } else if r < 0.97 {
                    rng.range(600, 3000)
                } else {
                    rng.range(3000, 5800)
                } as usize;
                let script = powershell_script(rng, len);
                let prefix = *rng.pick(&[
                    "powershell.exe -NoP -NonI -W Hidden -Exec Bypass -enc ",
                    "\"C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe\" -EncodedCommand ",
                    "powershell -enc ",
                ]);
                let mut s = format!("{prefix}{}", encode_powershell(&script));
                s.truncate(MAX_CMDLINE);
                s
            }
        }
        CmdKind::Office => {
            let docs: &[&str] = if path.ends_with("EXCEL.EXE") {
                &["budget 2024.xlsx", "Umsätze Q3.xlsx", "inventory.xlsx"]
            } else {
                &["Q3 Überblick.docx", "Résumé.docx", "report_final_v2.docx", "Präsentation.docx"]
            };
            format!("\"{path}\" /n \"C:\\Users\\{user}\\Documents\\{}\"", rng.pick(docs))
        }
        CmdKind::Notepad => format!("\"C:\\Windows\\system32\\NOTEPAD.EXE\" C:\\Users\\{user}\\Desktop\\notes-{}.txt", rng.pick(&["ü", "todo", "2024", "café"])),
        CmdKind::Net => match rng.below(4) {
            0 => format!("net  use Z: \\\\srv-file-001.{}\\share", world.dns_domain),
            1 => format!("net user {user} /domain"),
            2 => "net  group \"Domain Admins\" /domain".to_string(),
            _ => "net localgroup administrators".to_string(),
        },
        CmdKind::Taskhost => {
            if rng.chance(0.5) {
                format!("taskhostw.exe {{{}-{}-{}-{}-{}}}", hex(rng, 8), hex(rng, 4), hex(rng, 4), hex(rng, 4), hex(rng, 12))
            } else {
                "taskhostw.exe Install $(Arg0)".to_string()
            }
        }
        CmdKind::Search => "\"C:\\Windows\\system32\\SearchProtocolHost.exe\" Global\\UsGthrFltPipeMssGthrPipe5_ Global\\UsGthrCtrlFltPipeMssGthrPipe5 1 -2147483646 \"Software\\Microsoft\\Windows Search\" \"Mozilla/4.0 (compatible; MSIE 6.0; Windows NT; MS Search 4.0 Robot)\" \"C:\\ProgramData\\Microsoft\\Search\\Data\\Temp\\usgthrsvc\" \"DownLevelDaemon\"".to_string(),
        CmdKind::Conhost => "\\??\\C:\\Windows\\system32\\conhost.exe 0xffffffff -ForceV1".to_string(),
        CmdKind::Code => format!(
            "\"{path}\" --type=utility --utility-sub-type=node.mojom.NodeService --lang=en-US --service-sandbox-type=none --user-data-dir=\"C:\\Users\\{user}\\AppData\\Roaming\\Code\" --mojo-platform-channel-handle={} --field-trial-handle={},i,{},{},262144 /prefetch:8",
            rng.range(1000, 9999),
            rng.range(1000, 9999),
            rng.next_u64(),
            rng.next_u64() % 1_000_000
        ),
    };
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_known_vectors() {
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foo"), "Zm9v");
        assert_eq!(base64(b"foobar"), "Zm9vYmFy");
        // PowerShell's own example: "dir" -> ZABpAHIA
        assert_eq!(encode_powershell("dir"), "ZABpAHIA");
    }

    #[test]
    fn scripts_never_mention_the_planted_command() {
        for s in PS_STATEMENTS.iter().chain(PS_SHORT) {
            assert!(
                !s.to_ascii_lowercase().contains("get-nettcpconnection"),
                "{s}"
            );
        }
    }
}
