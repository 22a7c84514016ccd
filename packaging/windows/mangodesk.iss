; Inno Setup script for Mangodesk on Windows (Inno Setup 6).
; Build the one-folder app first (pyinstaller packaging\mangodesk.spec, on Windows, from the
; checkout root), then: iscc packaging\windows\mangodesk.iss
; Installs per machine into Program Files, adds a Start menu entry, optionally starts the desk
; at login (in the tray), and on uninstall keeps the hotel's data unless the user asks.

#define AppName "Mangodesk"
#define AppVersion "0.1.0"
#define AppExe "mangodesk.exe"
#define DistDir "..\..\dist\mangodesk"

[Setup]
AppId={{6C7F3B52-8E0B-4B64-9C1E-2F1D6F0A9D11}
AppName={#AppName}
AppVersion={#AppVersion}
AppPublisher=Mangodesk
DefaultDirName={autopf}\{#AppName}
DefaultGroupName={#AppName}
DisableProgramGroupPage=yes
OutputDir=..\..\dist
OutputBaseFilename=Mangodesk-{#AppVersion}-setup
SetupIconFile=..\..\resources\icons\mangodesk.ico
UninstallDisplayIcon={app}\{#AppExe}
Compression=lzma2/max
SolidCompression=yes
WizardStyle=modern
ArchitecturesAllowed=x64compatible
ArchitecturesInstallIn64BitMode=x64compatible
PrivilegesRequiredOverridesAllowed=dialog
CloseApplications=yes

[Tasks]
Name: "desktopicon"; Description: "Create a &desktop shortcut"; GroupDescription: "Shortcuts:"
Name: "autostart"; Description: "Start Mangodesk in the tray when I sign in (recommended for the front-desk PC)"; GroupDescription: "Start-up:"
Name: "service"; Description: "Run the automation as a Windows service (the always-on PC)"; GroupDescription: "Start-up:"; Flags: unchecked

[Files]
Source: "{#DistDir}\*"; DestDir: "{app}"; Flags: ignoreversion recursesubdirs createallsubdirs
; The Windows service: WinSW 2 (github.com/winsw/winsw), one pinned release whose SHA-256 is
; checked before use (it refuses any other file), put here by the Windows build:
;   python packaging\windows\fetch_winsw.py
; and its configuration, written by the build:
;   dist\mangodesk\mangodesk.exe service windows-xml --output packaging\windows\mangodesk-service.xml
Source: "WinSW-x64.exe"; DestDir: "{app}"; DestName: "mangodesk-service.exe"; Flags: ignoreversion
Source: "mangodesk-service.xml"; DestDir: "{app}"; Flags: ignoreversion

[Icons]
Name: "{group}\{#AppName}"; Filename: "{app}\{#AppExe}"
Name: "{group}\{#AppName} demo (sample hotel)"; Filename: "{app}\{#AppExe}"; Parameters: "--demo"
Name: "{group}\Uninstall {#AppName}"; Filename: "{uninstallexe}"
Name: "{autodesktop}\{#AppName}"; Filename: "{app}\{#AppExe}"; Tasks: desktopicon
Name: "{userstartup}\{#AppName}"; Filename: "{app}\{#AppExe}"; Parameters: "--minimized"; Tasks: autostart

[Run]
Filename: "{app}\mangodesk-service.exe"; Parameters: "install"; StatusMsg: "Installing the Mangodesk service..."; Flags: runhidden waituntilterminated; Tasks: service
Filename: "{app}\mangodesk-service.exe"; Parameters: "start"; Flags: runhidden waituntilterminated; Tasks: service
Filename: "{app}\{#AppExe}"; Parameters: "--self-test"; StatusMsg: "Checking the installation..."; Flags: runhidden waituntilterminated
Filename: "{app}\{#AppExe}"; Description: "Open {#AppName} now"; Flags: nowait postinstall skipifsilent

[UninstallRun]
Filename: "{app}\mangodesk-service.exe"; Parameters: "stop"; Flags: runhidden; RunOnceId: "StopService"
Filename: "{app}\mangodesk-service.exe"; Parameters: "uninstall"; Flags: runhidden; RunOnceId: "RemoveService"
; Close a running desk first so its files can be removed.
Filename: "{sys}\taskkill.exe"; Parameters: "/im {#AppExe} /f"; Flags: runhidden; RunOnceId: "CloseDesk"

[Code]
{ The hotel's settings, database and logs live in the user's AppData folders (platformdirs:
  Mangodesk\Mangodesk). They are kept unless the person uninstalling says to remove them. }
procedure CurUninstallStepChanged(CurUninstallStep: TUninstallStep);
var
  DataDir, LogDir: String;
begin
  if CurUninstallStep = usPostUninstall then
  begin
    DataDir := ExpandConstant('{localappdata}\Mangodesk\Mangodesk');
    LogDir := ExpandConstant('{localappdata}\Mangodesk\Mangodesk\Logs');
    if DirExists(DataDir) and not UninstallSilent then
    begin
      if MsgBox('Also delete the hotel''s Mangodesk data (settings, database and logs)?' + #13#10 + #13#10 +
                'Choose No to keep them; a new installation will use them again.',
                mbConfirmation, MB_YESNO or MB_DEFBUTTON2) = IDYES then
      begin
        DelTree(DataDir, True, True, True);
        DelTree(ExpandConstant('{userappdata}\Mangodesk\Mangodesk'), True, True, True);
      end;
    end;
  end;
end;
