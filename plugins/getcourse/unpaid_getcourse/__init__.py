"""unpaid connector for GetCourse: sync through the export API, changes through import and Tech API."""
