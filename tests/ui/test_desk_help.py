"""Issue 14: Help → About with version and folders (item 20); CSV export in Documents (18)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QStandardPaths, QUrl, Slot
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import QFileDialog

from mangodesk import __version__
from mangodesk.ui.application import Desk
from tests.ui.conftest import find_widget, idle


class UrlCatcher(QObject):
    """Stands in for the desktop's file manager."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[QUrl] = []

    @Slot(QUrl)
    def open(self, url: QUrl) -> None:
        self.urls.append(url)


def test_help_about_shows_version_and_folders_and_opens_the_log_folder(
        qtbot: Any, desk: Desk) -> None:
    window = desk.window
    help_menu = next(a.menu() for a in window.menuBar().actions() if a.text() == "&Help")
    assert [a.text() for a in help_menu.actions()] == ["About Mangodesk…"]
    window.about_action.trigger()
    from mangodesk.ui.about import AboutDialog

    dialog = find_widget(qtbot, AboutDialog, "about")
    paths = desk.context.paths
    assert dialog.version.text() == __version__
    assert dialog.data_folder.text() == str(paths.data_dir)
    assert dialog.log_folder.text() == str(paths.log_dir)
    catcher = UrlCatcher()
    QDesktopServices.setUrlHandler("file", catcher, "open")
    try:
        dialog.open_logs.click()
    finally:
        QDesktopServices.unsetUrlHandler("file")
    assert [Path(u.toLocalFile()) for u in catcher.urls] == [paths.log_dir]
    assert paths.log_dir.is_dir()
    dialog.close()


def test_csv_export_starts_in_the_documents_folder(qtbot: Any, desk: Desk, tmp_path: Path,
                                                  monkeypatch: Any) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("XDG_DOCUMENTS_DIR", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / ".config"))
    (tmp_path / "Documents").mkdir()
    window = desk.window
    window.tabs.setCurrentWidget(window.activity_panel)
    idle(qtbot, desk.runner)
    window.activity_panel.export_button.click()
    dialog = find_widget(qtbot, QFileDialog, "export_dialog")
    documents = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.DocumentsLocation)
    assert Path(documents) == tmp_path / "Documents"
    assert Path(dialog.directory().absolutePath()) == tmp_path / "Documents"
    dialog.reject()


def test_communications_opens_on_the_selected_units_booking_and_searches(
        qtbot: Any, desk: Desk) -> None:
    from PySide6.QtCore import Qt

    from tests.ui.test_desk import select

    select(desk, "Room 103")  # Sofia Rossi arrives tomorrow (B-1003)
    dialog = desk.window.show_communications()
    qtbot.waitUntil(lambda: dialog.booking_box.count() > 0)
    assert dialog.booking_box.currentText().startswith("B-1003")
    assert dialog.unit_note.text() == "Showing the next booking of Room 103."
    select(desk, "Room 101")
    dialog.close()
    dialog = desk.window.show_communications()
    qtbot.waitUntil(lambda: dialog.booking_box.count() > 0)
    assert dialog.booking_box.currentText().startswith("B-1001")
    assert "current booking of Room 101" in dialog.unit_note.text()
    # The picker is searchable by guest, booking number and unit, anywhere in the text.
    completer = dialog.booking_box.completer()
    assert completer is not None
    for typed, expected in (("sofia", "B-1003"), ("1005", "B-1005"), ("apartment sol", "B-1005")):
        completer.setCompletionPrefix(typed)
        found = [completer.completionModel().index(r, 0).data()
                 for r in range(completer.completionCount())]
        assert found and all(expected in f for f in found), (typed, found)
    line = dialog.booking_box.lineEdit()
    assert line is not None
    line.setText("b-1005")  # typed (keyClicks would open the popup, which grabs the keyboard)
    qtbot.keyClick(line, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: dialog.booking_box.currentText().startswith("B-1005"))
    qtbot.waitUntil(lambda: dialog.preview.toPlainText() == "")  # Sol has no lock here
    assert dialog.booking_box.currentData() is not None
    dialog.close()
