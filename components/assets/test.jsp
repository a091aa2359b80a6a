<%@ page language="java" contentType="text/html; charset=UTF-8" pageEncoding="UTF-8"%>
<%@ page import="java.util.Date"%>
<%-- Seed 000 §16's session page: which pod answered, and what it knows of this session. --%>
<html>
<head><title>k8s-platform session test</title></head>
<body>
<h3>Session Informations</h3>
<table border="0" cellpadding="5">
<tr><td bgcolor="#FFFFFF"><b>HttpSession APIs</b></td><td></td></tr>
<tr><td bgcolor="#B0E2FF">Session ID</td><td><%= session.getId() %></td></tr>
<tr><td bgcolor="#B0E2FF">Creation Time</td><td><%= new Date(session.getCreationTime()) %></td></tr>
<tr><td bgcolor="#B0E2FF">Last Access Time</td><td><%= new Date(session.getLastAccessedTime()) %></td></tr>
<tr><td bgcolor="#B0E2FF">is New</td><td><%= session.isNew() %></td></tr>
<tr><td bgcolor="#B0E2FF">Max Inactive Interval(seconds)</td><td><%= session.getMaxInactiveInterval() %></td></tr>
<tr><td bgcolor="#B0E2FF">request.getRemoteAddr</td><td><%= request.getRemoteAddr() %></td></tr>
<tr><td bgcolor="#B0E2FF">request.getLocalAddr</td><td><%= request.getLocalAddr() %></td></tr>
<tr><td bgcolor="#B0E2FF">request.getLocalPort</td><td><%= request.getLocalPort() %></td></tr>
</table>
</body>
</html>
