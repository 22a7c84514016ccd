#!/usr/bin/env bash
# Install the one-folder Mangodesk for this user: the folder under ~/.local/lib/mangodesk, the
# command in ~/.local/bin, the start-menu entry and icon. --autostart also starts it at login.
# --uninstall removes the program; the hotel's data and logs stay unless --purge is given too.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
lib=$HOME/.local/lib/mangodesk
apps=${XDG_DATA_HOME:-$HOME/.local/share}/applications
icons=${XDG_DATA_HOME:-$HOME/.local/share}/icons/hicolor/256x256/apps
metainfo=${XDG_DATA_HOME:-$HOME/.local/share}/metainfo
autostart=${XDG_CONFIG_HOME:-$HOME/.config}/autostart
id=no.mangodesk.Mangodesk
case "${1:-}" in
  --uninstall)
    rm -rf "$lib" "$HOME/.local/bin/mangodesk" "$apps/$id.desktop" "$icons/$id.png" \
      "$metainfo/$id.metainfo.xml" "$autostart/$id.desktop"
    if [ "${2:-}" = "--purge" ]; then
      rm -rf "${XDG_DATA_HOME:-$HOME/.local/share}/Mangodesk" \
        "${XDG_CONFIG_HOME:-$HOME/.config}/Mangodesk" "${XDG_STATE_HOME:-$HOME/.local/state}/Mangodesk"
      echo "Mangodesk and its data were removed."
    else
      echo "Mangodesk was removed; the hotel's data and logs were kept."
    fi
    exit 0 ;;
esac
mkdir -p "$lib" "$HOME/.local/bin" "$apps" "$icons" "$metainfo"
cp -a "$here/." "$lib/"
ln -sf "$lib/mangodesk" "$HOME/.local/bin/mangodesk"
sed "s|^Exec=mangodesk|Exec=$lib/mangodesk|" "$here/$id.desktop" > "$apps/$id.desktop"
cp "$here/$id.png" "$icons/$id.png"
cp "$here/$id.metainfo.xml" "$metainfo/"
if [ "${1:-}" = "--autostart" ]; then
  mkdir -p "$autostart"
  sed -e "s|^Exec=mangodesk.*|Exec=$lib/mangodesk --minimized|" "$here/$id.desktop" \
    > "$autostart/$id.desktop"
  echo "X-GNOME-Autostart-enabled=true" >> "$autostart/$id.desktop"
fi
echo "Mangodesk is installed: find it in the applications menu, or run 'mangodesk'."
